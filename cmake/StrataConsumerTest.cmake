# StrataConsumerTest.cmake — drives the downstream-project tests
# (tests/consumer), run by ctest as `cmake -D... -P StrataConsumerTest.cmake`.
#
#   MODE=add_subdirectory  configure tests/consumer with -DSTRATA_SOURCE_DIR
#                          (consumer does add_subdirectory(<repo> strata))
#   MODE=find_package      `cmake --install` STRATA_BUILD_DIR into a scratch
#                          prefix, then configure tests/consumer with
#                          -DCMAKE_PREFIX_PATH=<prefix> (find_package(strata))
#   Then build it and run the consumer binary.
#
# Other inputs: CONSUMER_SOURCE_DIR, SCRATCH_DIR, GENERATOR, CXX_COMPILER,
# BUILD_TYPE (may be empty), STRATA_SOURCE_DIR (add_subdirectory),
# STRATA_BUILD_DIR (find_package), MAKE_PROGRAM (optional).

cmake_minimum_required(VERSION 3.21)

function(run_step what)
  message(STATUS "consumer[${MODE}]: ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(NOTICE "command: ${cmd}\n${out}") # verbatim; FATAL_ERROR re-wraps lines
    message(FATAL_ERROR "consumer[${MODE}]: ${what} failed (${rc})")
  endif()
endfunction()

foreach(v IN ITEMS MODE CONSUMER_SOURCE_DIR SCRATCH_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "StrataConsumerTest: -D${v}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${SCRATCH_DIR}")
set(bin "${SCRATCH_DIR}/build")
set(configure_args -S "${CONSUMER_SOURCE_DIR}" -B "${bin}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(NOT "${BUILD_TYPE}" STREQUAL "")
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
if(DEFINED MAKE_PROGRAM AND NOT "${MAKE_PROGRAM}" STREQUAL "")
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

set(config_args)
if(NOT "${BUILD_TYPE}" STREQUAL "")
  set(config_args --config "${BUILD_TYPE}")
endif()

if(MODE STREQUAL "add_subdirectory")
  list(APPEND configure_args "-DSTRATA_SOURCE_DIR=${STRATA_SOURCE_DIR}")
elseif(MODE STREQUAL "find_package")
  set(prefix "${SCRATCH_DIR}/prefix")
  run_step("install ${STRATA_BUILD_DIR} -> ${prefix}"
           "${CMAKE_COMMAND}" --install "${STRATA_BUILD_DIR}" --prefix "${prefix}" ${config_args})
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}")
else()
  message(FATAL_ERROR "StrataConsumerTest: unknown MODE '${MODE}'")
endif()

run_step("configure" "${CMAKE_COMMAND}" ${configure_args})

if(MODE STREQUAL "find_package")
  # Make sure strata came from the scratch prefix, not from somewhere else.
  file(STRINGS "${bin}/CMakeCache.txt" strata_dir_line REGEX "^strata_DIR:")
  string(REGEX REPLACE "^strata_DIR:[A-Z]+=" "" strata_dir "${strata_dir_line}")
  file(REAL_PATH "${prefix}" real_prefix)
  file(REAL_PATH "${strata_dir}" real_strata_dir)
  string(FIND "${real_strata_dir}" "${real_prefix}/" pos)
  if(NOT pos EQUAL 0)
    message(FATAL_ERROR "consumer[find_package]: strata_DIR='${strata_dir}' is not inside the install prefix '${prefix}'")
  endif()
  message(STATUS "consumer[find_package]: strata_DIR=${strata_dir}")
endif()

run_step("build" "${CMAKE_COMMAND}" --build "${bin}" ${config_args})

set(exe "")
foreach(candidate IN ITEMS "${bin}/consumer" "${bin}/consumer.exe"
                           "${bin}/${BUILD_TYPE}/consumer" "${bin}/${BUILD_TYPE}/consumer.exe")
  if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
    set(exe "${candidate}")
    break()
  endif()
endforeach()
if(exe STREQUAL "")
  message(FATAL_ERROR "consumer[${MODE}]: built, but the consumer binary was not found under ${bin}")
endif()
run_step("run ${exe}" "${exe}")
message(STATUS "consumer[${MODE}]: OK")
