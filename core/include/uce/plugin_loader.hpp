// plugin_loader.hpp — finds, validates and loads plugins (architecture.md decision 1).
//
// Search order: directories from the config (in the order given), then the folder next to the
// executable (<exe>/../lib/uce-engine/plugins, the layout of both the build and the install tree).
// Every candidate file is logged with what happened to it. A plugin that the config NAMES and that
// cannot be loaded or opened is an error carrying the path and the reason; there is never a silent
// fallback to another backend.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "uce/status.hpp"
#include "uce/uce_plugin.h"
#include "uce/uce_stage.h"

namespace uce {

using LogFn = std::function<void(int level, const std::string& line)>;

struct PluginCandidate {
  std::string path;
  std::string name;     // from the header, "" if it never got that far
  bool loaded = false;
  int score = 0;        // probe() result
  std::string reason;   // why it was accepted or refused
};

class PluginRegistry {
 public:
  PluginRegistry();  // the built-in "reference" backend is always registered
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // <dir of the running executable>/../lib/uce-engine/plugins
  static std::string default_plugin_dir();

  // Scan directories for files named uce_*.so. Never fails as a whole: each candidate's outcome
  // is recorded (candidates()) and logged.
  void discover(const std::vector<std::string>& dirs, const LogFn& log);
  // Load one file explicitly (tests, --plugin PATH). Error = one line with path and reason.
  Result<const uce_plugin_header*> load_file(const std::string& path);

  // A loaded plugin by its header name. Error if absent, naming every candidate that claimed or
  // might have been that plugin and why it was refused.
  Result<const uce_plugin_header*> find(std::string_view name, int kind) const;
  std::vector<const uce_plugin_header*> plugins(int kind) const;
  const std::vector<PluginCandidate>& candidates() const { return candidates_; }

 private:
  struct Loaded;
  std::vector<std::unique_ptr<Loaded>> loaded_;
  std::vector<PluginCandidate> candidates_;
};

// Validate a header returned by an entry point (ABI major, struct sizes, kind, iface present).
Status validate_plugin_header(const uce_plugin_header* header, const std::string& where);

// The built-in naive reference backend (core/src/reference): scalar, double accumulation.
const uce_plugin_header* reference_backend_header();

}  // namespace uce
