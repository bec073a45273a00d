// stage_loader.hpp — loads a stage plugin the way the engine does: dlopen its built path, call
// uce_plugin_entry, check the header, take the uce_stage_iface.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

#include "uce/uce_stage.h"

struct LoadedStage {
  void* handle = nullptr;
  const uce_plugin_header* header = nullptr;
  const uce_stage_iface* iface = nullptr;
};

inline LoadedStage load_stage(const std::string& path) {
  LoadedStage s;
  s.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!s.handle) {
    ADD_FAILURE() << "dlopen " << path << ": " << dlerror();
    return s;
  }
  auto entry = reinterpret_cast<uce_plugin_entry_fn>(dlsym(s.handle, UCE_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    ADD_FAILURE() << path << ": no " << UCE_PLUGIN_ENTRY_SYMBOL;
    return s;
  }
  s.header = entry();
  if (!s.header || s.header->kind != UCE_PLUGIN_STAGE || s.header->abi_major != UCE_ABI_MAJOR) {
    ADD_FAILURE() << path << ": not a stage plugin of ABI " << UCE_ABI_MAJOR;
    return s;
  }
  s.iface = static_cast<const uce_stage_iface*>(s.header->iface);
  return s;
}

// Loaded once per process and never closed (as the engine keeps plugins for its lifetime).
inline const uce_stage_iface* h5ad_stage() {
  static LoadedStage s = load_stage(UCE_H5AD_PLUGIN);
  return s.iface;
}
inline const uce_stage_iface* npy_stage() {
  static LoadedStage s = load_stage(UCE_NPY_PLUGIN);
  return s.iface;
}
