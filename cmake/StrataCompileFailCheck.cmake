# StrataCompileFailCheck.cmake — run by ctest as
#   cmake -DENV_FILE=<env> -DTEST_FILE=<test> -P StrataCompileFailCheck.cmake
# (see StrataCompileFail.cmake). Passes iff the compiler rejects CF_SOURCE,
# its output matches CF_REGEX, and it reports exactly CF_ERRORS errors.

cmake_minimum_required(VERSION 3.21)

foreach(v IN ITEMS ENV_FILE TEST_FILE)
  if(NOT DEFINED ${v} OR NOT EXISTS "${${v}}")
    message(FATAL_ERROR "StrataCompileFailCheck: ${v} missing or not found: '${${v}}'")
  endif()
endforeach()
include("${ENV_FILE}")
include("${TEST_FILE}")

separate_arguments(flags UNIX_COMMAND "${CF_FLAGS}")
set(args ${flags} ${CF_STD_FLAG} -fsyntax-only -fdiagnostics-color=never)
foreach(dir IN LISTS CF_INCLUDES)
  if(dir STREQUAL "" OR dir IN_LIST CF_IMPLICIT_INCLUDES)
    continue() # -I/usr/include would break #include_next in libstdc++
  endif()
  list(APPEND args "-I${dir}")
endforeach()
foreach(def IN LISTS CF_DEFINES)
  if(NOT def STREQUAL "")
    list(APPEND args "-D${def}")
  endif()
endforeach()

# LC_ALL=C: plain ASCII quotes in diagnostics, whatever the locale.
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C "${CF_COMPILER}" ${args} "${CF_SOURCE}"
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

list(JOIN args " " args_str)
set(cmd "${CF_COMPILER} ${args_str} ${CF_SOURCE}")

# Details go out through message(NOTICE), which prints them verbatim
# (FATAL_ERROR would re-wrap the compiler's lines).
if(rc EQUAL 0)
  message(NOTICE "command: ${cmd}\noutput:\n${out}")
  message(FATAL_ERROR "compile_fail.${CF_NAME}: FAILED - the source compiled, but it must not.")
endif()
if(NOT out MATCHES "${CF_REGEX}")
  message(NOTICE "command: ${cmd}\noutput:\n${out}\nregex: ${CF_REGEX}")
  message(FATAL_ERROR "compile_fail.${CF_NAME}: FAILED - compilation failed (exit ${rc}) "
                      "but the output above does not match the regex: ${CF_REGEX}")
endif()
string(REGEX MATCHALL ": error: " errors "${out}")
list(LENGTH errors error_count)
if(NOT error_count EQUAL CF_ERRORS)
  message(NOTICE "command: ${cmd}\noutput:\n${out}")
  message(FATAL_ERROR "compile_fail.${CF_NAME}: FAILED - the compiler reported ${error_count} "
                      "errors, expected ${CF_ERRORS}: one mistake must give one message")
endif()
message(STATUS "compile_fail.${CF_NAME}: OK - rejected as expected (matched: ${CMAKE_MATCH_0})")
