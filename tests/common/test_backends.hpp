// test_backends.hpp — the backends the model tests run on: the built-in reference plus every
// backend plugin found in UCE_PLUGIN_DIR (or in $UCE_TEST_PLUGIN_DIR, for a build copied to
// another machine), opened once per test process. Header-only, so a test target only adds
// tests/common to its include directories and defines UCE_PLUGIN_DIR.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "uce/backend.hpp"

#ifndef UCE_PLUGIN_DIR
#error "UCE_PLUGIN_DIR must name the folder the backend plugins are built into"
#endif

namespace uce::test {

struct Backends {
  uce::PluginRegistry registry;
  std::vector<std::unique_ptr<uce::Backend>> open;
  Backends() {
    const char* moved = std::getenv("UCE_TEST_PLUGIN_DIR");
    const std::string dir = moved && *moved ? moved : UCE_PLUGIN_DIR;
    // A missing folder would leave the reference alone and every comparison trivially passing.
    if (!std::filesystem::is_directory(dir))
      ADD_FAILURE() << "plugin folder " << dir << " does not exist (set UCE_TEST_PLUGIN_DIR)";
    registry.discover({dir}, nullptr);
    uce_backend_options o{};
    o.struct_size = sizeof(o);
    o.device_index = -1;
    o.threads = 2;
    // As uce-run's default (fp16 = false, coopmat = true): fp32 results, on tensor cores where a
    // backend has an fp32-accurate path for them.
    o.allow_coopmat = 1;
    for (const auto* h : registry.plugins(UCE_PLUGIN_BACKEND)) {
      auto b = uce::Backend::open(h, o);
      if (b) open.push_back(b.take());
      else ADD_FAILURE() << "backend " << h->name << " loaded but failed to open: " << b.message();
    }
  }
};

// A backend that loads but does not open is a test failure, never silently skipped.
inline Backends& backends() {
  static Backends b;
  return b;
}

// Normalised-error threshold (issue "engine core"): 1e-10 on the reference backend, 1e-6 on the
// others (float32 arithmetic).
inline double tolerance(const uce::Backend& b) { return b.name() == "reference" ? 1e-10 : 1e-6; }

}  // namespace uce::test
