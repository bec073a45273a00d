# uce_vk_peak (vk_peak.cpp): the compute ceilings of a Vulkan device (fp32 FMAs, cooperative-matrix
# multiply-adds per shape / accumulator / API), against which the plugin's kernels are read.
# Included at the end of plugins/vulkan/CMakeLists.txt, after the plugin's own shader list was
# consumed: its variant functions (uce_vk_shader, uce_vk_shader_khr: glslc, and the NV -> KHR
# SPIR-V rewrite) are reused with the folders and lists pointed at this probe's shaders, and the
# result is embedded by the plugin's cmake/embed_spirv.cmake.
set(UCE_VK_SHADER_DIR ${CMAKE_CURRENT_LIST_DIR}/shaders)
set(UCE_VK_SPV_DIR ${CMAKE_CURRENT_BINARY_DIR}/peak_spv)
set(UCE_VK_SHADER_NAMES "")
set(UCE_VK_SPV_FILES "")
file(MAKE_DIRECTORY ${UCE_VK_SPV_DIR})

uce_vk_shader(fma_peak fma_peak.comp)
if(UCE_VK_GLSLC_HAS_NV_COOPMAT)
  # name: mma_<api>_n<CM_N>_acc<bits>_t<B fragments per k step>_<pure|smem>
  foreach(cfg "8;32;4" "8;32;8" "16;32;2" "16;32;4" "8;16;4" "16;16;2")
    list(GET cfg 0 n)
    list(GET cfg 1 acc)
    list(GET cfg 2 t)
    set(m CM_N=${n}u ACC_BITS=${acc} TNB=${t})
    uce_vk_shader(mma_nv_n${n}_acc${acc}_t${t}_pure mma_peak.comp ${m})
    uce_vk_shader(mma_nv_n${n}_acc${acc}_t${t}_smem mma_peak.comp ${m} SMEM)
    # KHR needs distinct A, B and C types: only 16x8x16 with f32 accumulators has them.
    if(UCE_VK_KHR_COOPMAT AND n EQUAL 8 AND acc EQUAL 32)
      uce_vk_shader_khr(mma_khr_n${n}_acc${acc}_t${t}_pure mma_peak.comp ${m})
      uce_vk_shader_khr(mma_khr_n${n}_acc${acc}_t${t}_smem mma_peak.comp ${m} SMEM)
    endif()
  endforeach()
endif()

set(peak_embedded ${CMAKE_CURRENT_BINARY_DIR}/vk_peak_shaders.cpp)
string(REPLACE ";" "," peak_names_arg "${UCE_VK_SHADER_NAMES}")
add_custom_command(OUTPUT ${peak_embedded}
  COMMAND ${CMAKE_COMMAND} -DSPV_DIR=${UCE_VK_SPV_DIR} -DNAMES=${peak_names_arg} -DOUTPUT=${peak_embedded}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_spirv.cmake
  DEPENDS ${UCE_VK_SPV_FILES} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_spirv.cmake
  COMMENT "Embedding the uce_vk_peak shaders" VERBATIM)
add_executable(uce_vk_peak ${CMAKE_CURRENT_LIST_DIR}/vk_peak.cpp ${peak_embedded})
target_include_directories(uce_vk_peak PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/core/include)
target_link_libraries(uce_vk_peak PRIVATE Vulkan::Vulkan)
target_compile_options(uce_vk_peak PRIVATE ${UCE_WARNINGS})
