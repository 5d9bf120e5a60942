# Every third-party library Loom uses. scripts/install-deps.sh installs them all.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(simdjson REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(OpenSSL REQUIRED)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
# Debian builds cpp-httplib as a shared library with OpenSSL, zlib and brotli support: link
# PkgConfig::HTTPLIB (never only the header), so the same CPPHTTPLIB_* macros are defined.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)

# DuckDB 1.4.4, unpacked from npm by scripts/install-deps.sh (C API only).
set(LOOM_DUCKDB_DIR ${CMAKE_SOURCE_DIR}/third_party/duckdb)
if(NOT EXISTS ${LOOM_DUCKDB_DIR}/libduckdb.so)
  message(FATAL_ERROR "DuckDB not found in third_party/duckdb: run scripts/install-deps.sh")
endif()
add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES IMPORTED_LOCATION ${LOOM_DUCKDB_DIR}/libduckdb.so
                                        INTERFACE_INCLUDE_DIRECTORIES ${LOOM_DUCKDB_DIR}/include)
set(CMAKE_BUILD_RPATH ${LOOM_DUCKDB_DIR})
