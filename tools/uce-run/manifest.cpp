// manifest.cpp — see manifest.hpp.
#include "manifest.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "sha256.hpp"

namespace uce::cli {
namespace fs = std::filesystem;

namespace {

// Hashes [offset, offset+len) of an open file into h.
bool hash_range(std::ifstream& in, uint64_t offset, uint64_t len, Sha256& h) {
  std::vector<char> buf(1 << 20);
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  while (len > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, buf.size()));
    in.read(buf.data(), static_cast<std::streamsize>(want));
    if (static_cast<size_t>(in.gcount()) != want) return false;
    h.update(buf.data(), want);
    len -= want;
  }
  return true;
}

}  // namespace

Result<InputFileInfo> describe_input_file(const std::string& role, const std::string& path,
                                          uint64_t full_hash_limit, uint64_t partial_chunk) {
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  if (ec) return Result<InputFileInfo>::error(path + ": cannot read the size of the " + role + " file (" + ec.message() + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<InputFileInfo>::error(path + ": cannot open the " + role + " file for hashing");
  InputFileInfo info;
  info.role = role;
  info.path = path;
  info.size_bytes = size;
  Sha256 h;
  bool ok;
  if (size < full_hash_limit) {
    ok = hash_range(in, 0, size, h);
  } else {
    uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = uint8_t(size >> (8 * i));
    h.update(le, 8);
    uint64_t chunk = std::min(partial_chunk, size);
    ok = hash_range(in, 0, chunk, h) && hash_range(in, size - chunk, chunk, h);
    info.hash = "sha256-partial";
    info.partial_chunk_bytes = chunk;
  }
  if (!ok) return Result<InputFileInfo>::error(path + ": read error while hashing the " + role + " file");
  info.sha256 = h.hex_digest();
  return info;
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string manifest_json(const RunManifest& m) {
  using nlohmann::json;
  json j;
  j["engine"] = {{"name", "uce-engine"}, {"version", m.engine_version}};
  j["date_utc"] = m.date_utc;
  j["command_line"] = m.command_line;
  j["config_toml"] = m.config_toml;
  j["fingerprint"] = m.fingerprint;
  j["output"] = m.output_path;
  json inputs = json::array();
  for (const auto& f : m.inputs) {
    json e = {{"role", f.role}, {"path", f.path}, {"size_bytes", f.size_bytes},
              {"sha256", f.sha256}, {"hash", f.hash}};
    if (f.hash == "sha256-partial")
      e["hash_note"] = "sha256 over the file size (8 bytes, little-endian), the first and the last " +
                       std::to_string(f.partial_chunk_bytes) + " bytes";
    inputs.push_back(std::move(e));
  }
  j["inputs"] = std::move(inputs);
  j["model"] = m.model_summary;
  json plan = json::array();
  for (const auto& a : m.backend_plan)
    plan.push_back({{"node", a.node}, {"backend", a.backend}, {"reason", a.reason}});
  j["backend_plan"] = std::move(plan);
  j["sampling"] = {{"sampler", m.sampler}, {"seed", m.seed}};
  j["cells"] = {{"in_file", m.cells_in_file}, {"embedded", m.cells_embedded},
                {"skipped", json(m.cells_skipped)}};
  j["genes"] = {{"in_file", m.genes_in_file}, {"used", m.genes_used}, {"dropped", json(m.genes_dropped)}};
  json stages = json::array();
  for (const auto& s : m.timings)
    stages.push_back({{"stage", s.stage}, {"busy_s", s.busy_s}, {"wall_s", s.wall_s},
                      {"cells_per_s", s.cells_per_s}});
  j["timings"] = {{"wall_s", m.wall_s}, {"cells_per_s", m.cells_per_s}, {"stages", std::move(stages)}};
  // Replace invalid UTF-8 (e.g. a Latin-1 path) instead of throwing.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Status write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(tmp + ": cannot create file (" + std::strerror(errno) + ")");
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status::error(tmp + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::string why = ec.message();
    fs::remove(tmp, ec);
    return Status::error(path + ": cannot rename the temporary file into place (" + why + ")");
  }
  return Status::ok();
}

Status write_manifest_json(const std::string& path, const RunManifest& m) {
  return write_file_atomic(path, manifest_json(m));
}

}  // namespace uce::cli
