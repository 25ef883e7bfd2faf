# stb (Debian: libstb-dev) for strata/image/io.hpp: the headers as <stb/stb_image.h> and the
# library that holds their implementations. Defines the target strata_stb when both are found.
if(NOT TARGET strata_stb)
  find_path(STRATA_STB_INCLUDE_DIR stb/stb_image.h)
  find_library(STRATA_STB_LIBRARY stb)
  if(STRATA_STB_INCLUDE_DIR AND STRATA_STB_LIBRARY)
    add_library(strata_stb INTERFACE)
    target_include_directories(strata_stb SYSTEM INTERFACE "${STRATA_STB_INCLUDE_DIR}")
    target_link_libraries(strata_stb INTERFACE "${STRATA_STB_LIBRARY}")
  endif()
endif()
