# strobe_library / strobe_test / strobe_benchmark / strobe_fuzz: a new module is a few lines.
#
#   strobe_library(NAME metrics ALIAS strobe::metrics HDRS counter.h SRCS counter.cc DEPS strobe::base)
#   strobe_test(NAME counter_test SRCS counter_test.cc DEPS strobe::metrics [LABELS unit] [TIMEOUT 60]
#               [TSAN_EXCLUDED "why TSan cannot judge it"])
#   strobe_benchmark(NAME metrics_benchmark SRCS counter_benchmark.cc DEPS strobe::metrics)
#   strobe_fuzz(NAME frame_fuzz_test SRCS frame_fuzz_test.cc DEPS strobe::wire CORPUS corpus/frame)
#
# Include roots: code under lib/ includes from lib/ ("strobe/..."), code under daemon/ from
# daemon/ ("strobed/..."), anything else from its own folder.

set(STROBE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# Not -Wnull-dereference: g++ 12 reports false positives inside libstdc++ (std::string) at -O2.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang's -Wconversion also turns on -Wsign-conversion, which g++'s does not in C++: keep
  # the two compilers (release: g++; sanitizers and fuzzing: clang) to one warning set.
  list(APPEND STROBE_WARNINGS -Wthread-safety -Wno-sign-conversion)
endif()
if(STROBE_WERROR)
  list(APPEND STROBE_WARNINGS -Werror)
endif()

if(STROBE_SANITIZER STREQUAL "asan")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(STROBE_SANITIZER STREQUAL "tsan")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT STROBE_SANITIZER STREQUAL "")
  message(FATAL_ERROR "STROBE_SANITIZER must be '', 'asan' or 'tsan'")
endif()
if(STROBE_LIBFUZZER)
  # Coverage instrumentation for every translation unit, not only the fuzz targets' own files:
  # libFuzzer is guided by the edges of the code it feeds (decoders, parsers in the libraries);
  # without this it saw only the target's own edges (47 against 260 for the Exposer's parser).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Frame pointers, which CpuProfiler's signal-safe unwinder follows (docs/design/profiling.md):
# the profiler's own tests and workloads always keep them; STROBE_FRAME_POINTERS=ON keeps them
# in everything (the daemon's /debug/pprof stacks then go past the leaf function).
set(STROBE_FRAME_POINTER_FLAGS -fno-omit-frame-pointer)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  list(APPEND STROBE_FRAME_POINTER_FLAGS -mno-omit-leaf-frame-pointer)
endif()
if(STROBE_FRAME_POINTERS)
  add_compile_options(${STROBE_FRAME_POINTER_FLAGS})
endif()

function(_strobe_include_root out)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  if(rel MATCHES "^lib(/|$)")
    set(${out} ${PROJECT_SOURCE_DIR}/lib PARENT_SCOPE)
  elseif(rel MATCHES "^daemon(/|$)")
    set(${out} ${PROJECT_SOURCE_DIR}/daemon PARENT_SCOPE)
  else()
    set(${out} ${CMAKE_CURRENT_SOURCE_DIR} PARENT_SCOPE)
  endif()
endfunction()

# Modules under lib/ (libstrobe) are installed: each is an OBJECT library compiled once (PIC),
# linked into a static archive (the target NAME, what the tree links) and a shared library
# (NAME_shared, versioned SONAME), both exported as strobe::<module> (shared) and
# strobe::<module>_static by cmake/StrobeInstall.cmake. HDRS are installed; PRIVATE_HDRS
# (test helpers) are not, and no installed header may include one (install_headers_test).
# NOT_INSTALLED keeps a lib/ module out of the installed package (a plain static library).
function(strobe_library)
  cmake_parse_arguments(A "NOT_INSTALLED" "NAME;ALIAS" "HDRS;PRIVATE_HDRS;SRCS;DEPS;PRIVATE_DEPS"
                        ${ARGN})
  _strobe_include_root(root)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(includes $<BUILD_INTERFACE:${root}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
  if(rel MATCHES "^lib(/|$)" AND A_SRCS AND NOT A_NOT_INSTALLED)
    string(REGEX REPLACE "^strobe_" "" module ${A_NAME})
    add_library(${A_NAME}_objects OBJECT ${A_SRCS} ${A_HDRS} ${A_PRIVATE_HDRS})
    target_include_directories(${A_NAME}_objects PUBLIC ${includes})
    target_link_libraries(${A_NAME}_objects PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
    target_compile_options(${A_NAME}_objects PRIVATE ${STROBE_WARNINGS})
    add_library(${A_NAME} STATIC $<TARGET_OBJECTS:${A_NAME}_objects>)
    add_library(${A_NAME}_shared SHARED $<TARGET_OBJECTS:${A_NAME}_objects>)
    # The shared library links the shared builds of its strobe dependencies.
    set(shared_deps)
    foreach(dep IN LISTS A_DEPS)
      if(dep MATCHES "^strobe::(.*)$")
        list(APPEND shared_deps strobe_${CMAKE_MATCH_1}_shared)
      else()
        list(APPEND shared_deps ${dep})
      endif()
    endforeach()
    foreach(lib ${A_NAME} ${A_NAME}_shared)
      target_include_directories(${lib} PUBLIC ${includes} $<INSTALL_INTERFACE:include>)
    endforeach()
    target_link_libraries(${A_NAME} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
    target_link_libraries(${A_NAME}_shared PUBLIC ${shared_deps} PRIVATE ${A_PRIVATE_DEPS})
    # 0.x: every minor release may change the ABI, so the SONAME carries major.minor.
    set_target_properties(${A_NAME} PROPERTIES OUTPUT_NAME ${A_NAME} EXPORT_NAME ${module}_static)
    set_target_properties(${A_NAME}_shared PROPERTIES
      OUTPUT_NAME ${A_NAME} EXPORT_NAME ${module} VERSION ${PROJECT_VERSION}
      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
      # Finds its sibling libstrobe_*.so in any prefix (the consumer's RUNPATH does not apply
      # to the libraries' own dependencies).
      INSTALL_RPATH "$ORIGIN")
    set_property(GLOBAL APPEND PROPERTY STROBE_INSTALL_LIBS ${A_NAME} ${A_NAME}_shared)
    foreach(h IN LISTS A_HDRS)
      get_filename_component(dir ${CMAKE_CURRENT_SOURCE_DIR}/${h} DIRECTORY)
      file(RELATIVE_PATH dir ${root} ${dir})
      install(FILES ${h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${dir} COMPONENT dev)
    endforeach()
  elseif(A_SRCS)
    add_library(${A_NAME} STATIC ${A_SRCS} ${A_HDRS} ${A_PRIVATE_HDRS})
    target_include_directories(${A_NAME} PUBLIC ${includes})
    target_link_libraries(${A_NAME} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
    target_compile_options(${A_NAME} PRIVATE ${STROBE_WARNINGS})
  else()
    add_library(${A_NAME} INTERFACE ${A_HDRS})
    target_include_directories(${A_NAME} INTERFACE ${includes})
    target_link_libraries(${A_NAME} INTERFACE ${A_DEPS})
  endif()
  if(A_ALIAS)
    add_library(${A_ALIAS} ALIAS ${A_NAME})
  endif()
endfunction()

# Unit tests carry the label `unit` unless LABELS says otherwise (stress, integration, ...).
#
# The TSan build has only the tests that start threads: a single-threaded test cannot race, and
# building the rest a third time would double the sanitizer step of a cold CI run. A test starts
# threads when one of its sources names std::thread/jthread/async/pthread, an io_context, or
# calls Start()/Run() on a component; a test that starts threads another way adds the label
# `threads` to be kept.
set(STROBE_THREADED_TEST_PATTERN
    "std::thread|std::jthread|std::async|pthread_|io_context|[.>]Start\\(|[.>]Run\\(")
function(_strobe_test_starts_threads out srcs labels)
  if("threads" IN_LIST labels OR "stress" IN_LIST labels)
    set(${out} TRUE PARENT_SCOPE)
    return()
  endif()
  foreach(src IN LISTS srcs)
    file(READ ${CMAKE_CURRENT_SOURCE_DIR}/${src} text)
    if(text MATCHES "${STROBE_THREADED_TEST_PATTERN}")
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} FALSE PARENT_SCOPE)
endfunction()

# One precompiled header for every unit test in the clang builds (ASan, TSan): GoogleTest,
# gmock and the standard headers tests use most, parsed once per build instead of once per test
# source (1.5–5 CPU-s saved per test source; bench/RESULTS.md "Build time"). Not with g++: its
# PCH loses the system-header status of what it contains, so libstdc++'s known g++ 12 false
# positives (-Warray-bounds, -Wstringop-overflow in std::string) surface as errors. The donor is
# a tiny executable so its flags (-fPIE, sanitizers, warnings) are the tests' own; ccache needs
# the sloppiness set on its launcher in the top-level CMakeLists.txt.
set(STROBE_TEST_PCH_HEADERS <gtest/gtest.h> <gmock/gmock.h> <algorithm> <atomic> <chrono>
    <cstdint> <cstring> <functional> <map> <memory> <optional> <string> <string_view> <thread>
    <unordered_map> <vector>)
set(STROBE_TEST_PCH OFF)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(STROBE_TEST_PCH ON)
endif()
function(_strobe_test_pch_donor)
  if(TARGET strobe_test_pch)
    return()
  endif()
  add_executable(strobe_test_pch EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/cmake/test_pch/pch_donor.cc)
  target_link_libraries(strobe_test_pch PRIVATE GTest::gtest_main GTest::gmock Threads::Threads)
  # Without -fno-pch-timestamp clang stores the header's mtime in the PCH and ccache cannot
  # reuse results.
  target_compile_options(strobe_test_pch PRIVATE ${STROBE_WARNINGS} -pthread
                         -Xclang -fno-pch-timestamp)
  target_precompile_headers(strobe_test_pch PRIVATE ${STROBE_TEST_PCH_HEADERS})
endfunction()

function(strobe_test)
  if(NOT STROBE_BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(A "" "NAME;TIMEOUT;TSAN_EXCLUDED" "SRCS;DEPS;LABELS;ARGS" ${ARGN})
  set(registered TRUE)
  if(STROBE_SANITIZER STREQUAL "tsan")
    _strobe_test_starts_threads(registered "${A_SRCS}" "${A_LABELS}")
    # TSAN_EXCLUDED "<why>": TSan cannot judge this test (uninstrumented library doing the
    # synchronisation, threads after a multi-threaded fork); the reason stays in the listfile.
    if(A_TSAN_EXCLUDED)
      set(registered FALSE)
    endif()
  endif()
  _strobe_include_root(root)
  if(NOT registered)
    # The target still exists (a folder may add definitions to it) but is neither built nor run.
    add_executable(${A_NAME} EXCLUDE_FROM_ALL ${A_SRCS})
  else()
    add_executable(${A_NAME} ${A_SRCS})
  endif()
  target_include_directories(${A_NAME} PRIVATE ${root})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest_main GTest::gmock Threads::Threads)
  target_compile_options(${A_NAME} PRIVATE ${STROBE_WARNINGS})
  if(STROBE_TEST_PCH)
    _strobe_test_pch_donor()
    # -pthread on donor and users alike: some dependencies (gRPC) add it, and clang refuses a
    # PCH whose POSIX-thread setting differs from the source's.
    target_compile_options(${A_NAME} PRIVATE -pthread)
    target_precompile_headers(${A_NAME} REUSE_FROM strobe_test_pch)
  endif()
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  if(STROBE_SANITIZER)
    # -O0 ASan with coverage instrumentation (and TSan) run hot loops several times slower.
    math(EXPR A_TIMEOUT "${A_TIMEOUT} * 3")
  endif()
  if(NOT registered)
    return()
  endif()
  add_test(NAME ${A_NAME} COMMAND ${A_NAME} ${A_ARGS})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT})
  if("unit" IN_LIST A_LABELS OR "stress" IN_LIST A_LABELS)
    set_property(GLOBAL APPEND PROPERTY STROBE_SANITIZE_TARGETS ${A_NAME})
  endif()
endfunction()

# Registers extra targets that unit/stress tests need at run time (a binary a test executes),
# so `sanitize_tests` builds them too.
function(strobe_sanitize_depends)
  set_property(GLOBAL APPEND PROPERTY STROBE_SANITIZE_TARGETS ${ARGN})
endfunction()

# Benchmarks build only in the release preset; `make bench` runs every one listed in
# ${CMAKE_BINARY_DIR}/benchmarks.txt and writes JSON beside it.
function(strobe_benchmark)
  if(NOT STROBE_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS" ${ARGN})
  _strobe_include_root(root)
  add_executable(${A_NAME} ${A_SRCS})
  target_include_directories(${A_NAME} PRIVATE ${root})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} benchmark::benchmark_main Threads::Threads)
  target_compile_options(${A_NAME} PRIVATE ${STROBE_WARNINGS})
  set_property(GLOBAL APPEND PROPERTY STROBE_BENCHMARKS "$<TARGET_FILE:${A_NAME}>")
endfunction()

# Fuzz targets define LLVMFuzzerTestOneInput. With STROBE_LIBFUZZER (clang) they are real
# libFuzzer binaries; otherwise they link a driver that replays every file of the corpus, and
# ctest runs that replay (label `fuzz`) as a regression test in every build.
function(strobe_fuzz)
  if(NOT STROBE_BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(A "" "NAME;CORPUS" "SRCS;DEPS" ${ARGN})
  _strobe_include_root(root)
  add_executable(${A_NAME} ${A_SRCS})
  target_include_directories(${A_NAME} PRIVATE ${root})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} Threads::Threads)
  target_compile_options(${A_NAME} PRIVATE ${STROBE_WARNINGS})
  if(STROBE_LIBFUZZER)
    target_compile_options(${A_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(${A_NAME} PRIVATE -fsanitize=fuzzer)
  else()
    target_link_libraries(${A_NAME} PRIVATE strobe_fuzz_driver)
  endif()
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/${A_CORPUS})
  if(STROBE_LIBFUZZER)
    # -runs=0: execute every corpus file once and exit (libFuzzer's replay mode).
    add_test(NAME ${A_NAME} COMMAND ${A_NAME} -runs=0 ${corpus})
  else()
    add_test(NAME ${A_NAME} COMMAND ${A_NAME} ${corpus})
  endif()
  set_tests_properties(${A_NAME} PROPERTIES LABELS fuzz TIMEOUT 300)
  set_property(GLOBAL APPEND PROPERTY STROBE_FUZZERS "$<TARGET_FILE:${A_NAME}> ${corpus}")
  set_property(GLOBAL APPEND PROPERTY STROBE_FUZZ_TARGETS ${A_NAME})
  set_property(GLOBAL APPEND PROPERTY STROBE_SANITIZE_TARGETS ${A_NAME})
endfunction()

# Called once at the end of the top-level CMakeLists: writes the lists `make bench` and
# `make fuzz` iterate over.
function(strobe_write_target_lists)
  get_property(benches GLOBAL PROPERTY STROBE_BENCHMARKS)
  string(REPLACE ";" "\n" benches "${benches}")
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/benchmarks.txt CONTENT "${benches}\n")
  get_property(fuzzers GLOBAL PROPERTY STROBE_FUZZERS)
  string(REPLACE ";" "\n" fuzzers "${fuzzers}")
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/fuzzers.txt CONTENT "${fuzzers}\n")
  # `make sanitize` builds only what the unit, stress and fuzz-replay tests run (not
  # benchmarks, integration harnesses or examples): half the work of a full sanitizer build.
  get_property(sanitize GLOBAL PROPERTY STROBE_SANITIZE_TARGETS)
  add_custom_target(sanitize_tests)
  if(sanitize)
    add_dependencies(sanitize_tests ${sanitize})
  endif()
  # `make fuzz` builds only the fuzz targets it runs (fuzzers.txt), not the whole tree.
  get_property(fuzz_targets GLOBAL PROPERTY STROBE_FUZZ_TARGETS)
  add_custom_target(fuzz_targets)
  if(fuzz_targets)
    add_dependencies(fuzz_targets ${fuzz_targets})
  endif()
endfunction()

# Adds every immediate subfolder that has a CMakeLists.txt, in name order, so a new module
# is one folder and no shared list has to be edited.
function(strobe_add_subdirectories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child} AND
       EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()
