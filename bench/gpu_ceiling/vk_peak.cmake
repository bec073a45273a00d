# uce_vk_peak (vk_peak.cpp): the compute ceilings of a Vulkan device (fp32 FMAs, cooperative-matrix
# multiply-adds per shape / accumulator / API), against which the plugin's kernels are read.
# Included from plugins/vulkan/CMakeLists.txt, which found glslc and decided whether NV
# cooperative-matrix shaders compile and can be rewritten to KHR (UCE_VK_GLSLC_HAS_NV_COOPMAT,
# UCE_VK_KHR_COOPMAT). Shaders are embedded like the plugin's (cmake/embed_spirv.cmake).
set(peak_src ${CMAKE_CURRENT_LIST_DIR}/shaders)
set(peak_spv ${CMAKE_CURRENT_BINARY_DIR}/peak_spv)
file(MAKE_DIRECTORY ${peak_spv})
set(peak_names "")
set(peak_files "")
# uce_vk_peak_shader(<name> <khr ON|OFF> <source> [MACRO=value ...])
function(uce_vk_peak_shader name khr source)
  set(defs "")
  foreach(d IN LISTS ARGN)
    list(APPEND defs -D${d})
  endforeach()
  set(out ${peak_spv}/${name}.spv)
  set(compiled ${out})
  set(rewrite "")
  if(khr)
    set(compiled ${peak_spv}/${name}.nv.spv)
    set(rewrite COMMAND ${Python3_EXECUTABLE} ${UCE_VK_COOPMAT_REWRITER} ${compiled} ${out})
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${UCE_GLSLC} ${UCE_VK_GLSLC_FLAGS} ${defs} ${peak_src}/${source} -o ${compiled}
    ${rewrite}
    DEPENDS ${peak_src}/${source} ${UCE_VK_COOPMAT_REWRITER}
    COMMENT "glslc ${name}" VERBATIM)
  set(peak_names ${peak_names} ${name} PARENT_SCOPE)
  set(peak_files ${peak_files} ${out} PARENT_SCOPE)
endfunction()

uce_vk_peak_shader(fma_peak OFF fma_peak.comp)
if(UCE_VK_GLSLC_HAS_NV_COOPMAT)
  # name: mma_<api>_n<CM_N>_acc<bits>_t<B fragments per k step>_<pure|smem>
  foreach(cfg "8;32;4" "8;32;8" "16;32;2" "16;32;4" "8;16;4" "16;16;2")
    list(GET cfg 0 n)
    list(GET cfg 1 acc)
    list(GET cfg 2 t)
    set(m CM_N=${n}u ACC_BITS=${acc} TNB=${t})
    uce_vk_peak_shader(mma_nv_n${n}_acc${acc}_t${t}_pure OFF mma_peak.comp ${m})
    uce_vk_peak_shader(mma_nv_n${n}_acc${acc}_t${t}_smem OFF mma_peak.comp ${m} SMEM)
    # KHR needs distinct A, B and C types: only 16x8x16 with f32 accumulators has them.
    if(UCE_VK_KHR_COOPMAT AND n EQUAL 8 AND acc EQUAL 32)
      uce_vk_peak_shader(mma_khr_n${n}_acc${acc}_t${t}_pure ON mma_peak.comp ${m})
      uce_vk_peak_shader(mma_khr_n${n}_acc${acc}_t${t}_smem ON mma_peak.comp ${m} SMEM)
    endif()
  endforeach()
endif()

set(peak_embedded ${CMAKE_CURRENT_BINARY_DIR}/vk_peak_shaders.cpp)
string(REPLACE ";" "," peak_names_arg "${peak_names}")
add_custom_command(OUTPUT ${peak_embedded}
  COMMAND ${CMAKE_COMMAND} -DSPV_DIR=${peak_spv} -DNAMES=${peak_names_arg} -DOUTPUT=${peak_embedded}
          -P ${UCE_VK_EMBED_SCRIPT}
  DEPENDS ${peak_files} ${UCE_VK_EMBED_SCRIPT}
  COMMENT "Embedding the uce_vk_peak shaders" VERBATIM)
add_executable(uce_vk_peak ${CMAKE_CURRENT_LIST_DIR}/vk_peak.cpp ${peak_embedded})
target_include_directories(uce_vk_peak PRIVATE ${UCE_VK_PLUGIN_SRC})
target_link_libraries(uce_vk_peak PRIVATE Vulkan::Vulkan)
target_compile_options(uce_vk_peak PRIVATE ${UCE_WARNINGS})
