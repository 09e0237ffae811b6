# One helper per target kind (STYLE §3.2.13): every library gets the same warnings and
# sanitizer flags; every test is registered with CTest by apitrail_test().

set(APITRAIL_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(APITRAIL_WERROR)
  list(APPEND APITRAIL_WARNINGS -Werror)
endif()
# GCC 12 at -O3 (the Release build bench/README prescribes) reports -Wrestrict on its own
# inlined std::string code ("'" + s, s = "/"): GCC bug 105329, fixed in 13. It stays a
# warning there instead of stopping the build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND APITRAIL_WARNINGS -Wno-error=restrict)
endif()
if(APITRAIL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Asio and Beast are compiled once, in src/net/boost_src.cc, instead of in every TU.
add_compile_definitions(BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
                        BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_COROUTINE)

# apitrail_library(NAME store SRCS a.cc b.cc DEPS core)
function(apitrail_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(apitrail_${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(apitrail_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(apitrail_${ARG_NAME} PRIVATE ${APITRAIL_WARNINGS})
  target_link_libraries(apitrail_${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# apitrail_test(NAME store_record_test SRCS tests/unit/store/record_test.cc DEPS apitrail_store)
# Adds the test to the `apitrail_unit_tests` umbrella target and labels it `unit`.
function(apitrail_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${APITRAIL_WARNINGS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  # Sanitized, a test runs several times slower (store_rollup_property_test took ~100 s of the
  # 120 under a loaded ctest -j2), and ctest's --timeout never overrides this property.
  if(APITRAIL_SANITIZE)
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS unit TIMEOUT 360)
  else()
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS unit TIMEOUT 120)
  endif()
  add_dependencies(apitrail_unit_tests ${ARG_NAME})
endfunction()

# apitrail_bench(NAME store_append_bench SRCS bench/store/append_bench.cc DEPS apitrail_store)
function(apitrail_bench)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${APITRAIL_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
