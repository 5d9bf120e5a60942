# loom_module(NAME DEPS <loom modules> LIBS <other targets>)
# Builds src/NAME/*.cc into the static library loom_NAME, includes rooted at src/.
function(loom_module name)
  cmake_parse_arguments(M "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cc)
  add_library(loom_${name} STATIC ${srcs})
  target_include_directories(loom_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  foreach(d IN LISTS M_DEPS)
    target_link_libraries(loom_${name} PUBLIC loom_${d})
  endforeach()
  target_link_libraries(loom_${name} PUBLIC ${M_LIBS})
endfunction()

# loom_embed(TARGET NAMESPACE ns BASE dir FILES ...): compiles the files' texts into TARGET as
# ns::kEmbeddedFiles / ns::kEmbeddedFileCount (see cmake/embed.cmake).
function(loom_embed target)
  cmake_parse_arguments(E "" "NAMESPACE;BASE" "FILES" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cc)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DBASE=${E_BASE} -DNAMESPACE=${E_NAMESPACE}
            "-DFILES=${E_FILES}" -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${E_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
