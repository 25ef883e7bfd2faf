# libjpeg-turbo and libpng (Debian: libjpeg62-turbo-dev, libpng-dev) for strata/image/io.hpp.
# Defines the target strata_image_codecs when both are found.
if(NOT TARGET strata_image_codecs)
  find_package(JPEG QUIET)
  find_package(PNG QUIET)
  if(JPEG_FOUND AND PNG_FOUND)
    add_library(strata_image_codecs INTERFACE)
    target_link_libraries(strata_image_codecs INTERFACE JPEG::JPEG PNG::PNG)
  endif()
endif()
