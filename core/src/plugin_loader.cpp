// plugin_loader.cpp — discovery and validation of plugin shared objects.
#include "uce/plugin_loader.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>

namespace uce {
namespace fs = std::filesystem;

struct PluginRegistry::Loaded {
  std::string path;      // "" for built-in
  void* handle = nullptr;
  const uce_plugin_header* header = nullptr;
  // The handle is released with the registry, which outlives every Backend; with RTLD_NODELETE
  // the code itself stays mapped until the process ends.
  ~Loaded() {
    if (handle) dlclose(handle);
  }
};

PluginRegistry::PluginRegistry() {
  auto builtin = std::make_unique<Loaded>();
  builtin->header = reference_backend_header();
  loaded_.push_back(std::move(builtin));
  candidates_.push_back({"<built-in>", "reference", true, 1, "built into the core"});
}

PluginRegistry::~PluginRegistry() = default;

std::string PluginRegistry::default_plugin_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return UCE_PLUGIN_SUBDIR;
  buf[n] = '\0';
  return (fs::path(buf).parent_path().parent_path() / UCE_PLUGIN_SUBDIR).lexically_normal().string();
}

Status validate_plugin_header(const uce_plugin_header* h, const std::string& where) {
  if (!h) return Status::error(where + ": uce_plugin_entry returned NULL");
  if (h->struct_size < offsetof(uce_plugin_header, iface) + sizeof(void*))
    return Status::error(where + ": plugin header is " + std::to_string(h->struct_size) +
                         " bytes, too small for ABI 1 (expected >= " +
                         std::to_string(offsetof(uce_plugin_header, iface) + sizeof(void*)) + ")");
  if (h->abi_major != UCE_ABI_MAJOR)
    return Status::error(where + ": plugin ABI major " + std::to_string(h->abi_major) +
                         ", this engine needs " + std::to_string(UCE_ABI_MAJOR));
  if (!h->name || !*h->name) return Status::error(where + ": plugin header has no name");
  if (h->kind != UCE_PLUGIN_BACKEND && h->kind != UCE_PLUGIN_STAGE)
    return Status::error(where + ": unknown plugin kind " + std::to_string(h->kind));
  if (!h->iface) return Status::error(where + ": plugin '" + h->name + "' has no function table");
  const uint32_t table_size = *static_cast<const uint32_t*>(h->iface);
  if (h->kind == UCE_PLUGIN_BACKEND) {
    const auto* b = static_cast<const uce_backend_iface*>(h->iface);
    if (table_size < offsetof(uce_backend_iface, synchronize) + sizeof(void*))
      return Status::error(where + ": backend table of '" + h->name + "' is too small (" +
                           std::to_string(table_size) + " bytes)");
    if (!b->open || !b->close || !b->supports_op || !b->buffer_alloc || !b->buffer_free ||
        !b->buffer_write || !b->buffer_read || !b->compute || !b->synchronize)
      return Status::error(where + ": backend '" + h->name + "' lacks a required function");
  } else {
    if (table_size < offsetof(uce_stage_iface, writer_abort) + sizeof(void*))
      return Status::error(where + ": stage table of '" + h->name + "' is too small (" +
                           std::to_string(table_size) + " bytes)");
  }
  return Status::ok();
}

Result<const uce_plugin_header*> PluginRegistry::load_file(const std::string& path) {
  PluginCandidate cand{path, "", false, 0, ""};
  auto refuse = [&](std::string reason) -> Result<const uce_plugin_header*> {
    cand.reason = reason;
    candidates_.push_back(cand);
    return Result<const uce_plugin_header*>::error(path + ": " + reason);
  };
  // RTLD_NODELETE: a plugin's code is never unmapped, even after dlclose. Plugins pull in
  // libraries (HDF5, OpenBLAS, GPU drivers) that register thread-exit and atexit handlers;
  // unloading them while any thread still runs crashes at that thread's exit.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!handle) {
    const char* e = dlerror();
    return refuse(std::string("cannot load: ") + (e ? e : "unknown dlopen error"));
  }
  auto entry = reinterpret_cast<uce_plugin_entry_fn>(dlsym(handle, UCE_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    dlclose(handle);
    return refuse("missing entry symbol " UCE_PLUGIN_ENTRY_SYMBOL " (not a uce-engine plugin)");
  }
  const uce_plugin_header* h = entry();
  if (Status st = validate_plugin_header(h, path); !st) {
    dlclose(handle);
    cand.reason = st.message().substr(path.size() + 2);
    candidates_.push_back(cand);
    return st;
  }
  cand.name = h->name;
  for (const auto& l : loaded_) {
    if (l->header && std::string(l->header->name) == h->name && l->header->kind == h->kind) {
      // Build the message before dlclose: h points into the library being unloaded.
      std::string reason = std::string("duplicate plugin name '") + h->name + "' (already loaded from " +
                           (l->path.empty() ? "<built-in>" : l->path) + ")";
      dlclose(handle);
      return refuse(reason);
    }
  }
  char why[256] = "";
  const int score = h->probe ? h->probe(why, sizeof(why)) : 1;
  cand.score = score;
  if (score <= 0) {
    dlclose(handle);
    return refuse(std::string("probe found nothing usable: ") + (why[0] ? why : "no reason given"));
  }
  auto loaded = std::make_unique<Loaded>();
  loaded->path = path;
  loaded->handle = handle;
  loaded->header = h;
  loaded_.push_back(std::move(loaded));
  cand.loaded = true;
  cand.reason = std::string("loaded, ") + h->name + " " + (h->version ? h->version : "") +
                ", probe score " + std::to_string(score);
  candidates_.push_back(cand);
  return h;
}

void PluginRegistry::discover(const std::vector<std::string>& dirs, const LogFn& log) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      if (log) log(UCE_LOG_INFO, "plugins: " + dir + ": not a directory, skipped");
      continue;
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string fname = e.path().filename().string();
      if (fname.rfind("uce_", 0) == 0 && e.path().extension() == ".so") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());  // deterministic order in logs
    for (const auto& f : files) {
      const bool already = std::any_of(loaded_.begin(), loaded_.end(),
                                       [&](const auto& l) { return l->path == f; });
      if (already) continue;
      auto r = load_file(f);
      if (log) log(r ? UCE_LOG_INFO : UCE_LOG_WARN, "plugins: " + f + ": " + candidates_.back().reason);
    }
  }
}

Result<const uce_plugin_header*> PluginRegistry::find(std::string_view name, int kind) const {
  for (const auto& l : loaded_)
    if (l->header->kind == kind && name == l->header->name) return l->header;
  std::string msg = "plugin '" + std::string(name) + "' is not available";
  std::string seen;
  for (const auto& c : candidates_) {
    if (c.loaded) continue;
    const std::string base = fs::path(c.path).filename().string();
    if (c.name == name || base.find(std::string(name)) != std::string::npos)
      seen += "; " + c.path + ": " + c.reason;
  }
  if (seen.empty()) {
    msg += " (no candidate file found; looked in the plugin folders)";
  } else {
    msg += seen;
  }
  return Result<const uce_plugin_header*>::error(msg);
}

std::vector<const uce_plugin_header*> PluginRegistry::plugins(int kind) const {
  std::vector<const uce_plugin_header*> out;
  for (const auto& l : loaded_)
    if (l->header->kind == kind) out.push_back(l->header);
  return out;
}

}  // namespace uce
