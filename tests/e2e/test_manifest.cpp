// Tests of SHA-256 (FIPS 180-4 example vectors), input-file hashing and the manifest JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "manifest.hpp"
#include "sha256.hpp"
#include "temp_dir.hpp"

using namespace uce::cli;
using uce_test::TempDir;

TEST(Sha256, NistVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecewiseUpdatesMatchOneShot) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  for (size_t step : {1u, 3u, 63u, 64u, 65u, 200u}) {
    Sha256 h;
    for (size_t off = 0; off < data.size(); off += step) h.update(data.data() + off, std::min(step, data.size() - off));
    EXPECT_EQ(h.hex_digest(), sha256_hex(data)) << step;
  }
}

TEST(Manifest, DescribeInputFileFullAndPartial) {
  TempDir d;
  std::string small = d.write("abc.bin", "abc");
  auto f = describe_input_file("input", small);
  ASSERT_TRUE(f) << f.message();
  EXPECT_EQ(f->size_bytes, 3u);
  EXPECT_EQ(f->hash, "sha256");
  EXPECT_EQ(f->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  std::string content(1000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i % 251);
  std::string big = d.write("big.bin", content);
  auto p = describe_input_file("token_file", big, /*full_hash_limit=*/100, /*partial_chunk=*/16);
  ASSERT_TRUE(p) << p.message();
  EXPECT_EQ(p->hash, "sha256-partial");
  EXPECT_EQ(p->size_bytes, 1000u);
  // Defined as SHA-256(le64(size) || first 16 bytes || last 16 bytes); 1000 = 0x3e8.
  std::string expected_input = std::string("\xe8\x03\0\0\0\0\0\0", 8) + content.substr(0, 16) + content.substr(984);
  EXPECT_EQ(p->sha256, sha256_hex(expected_input));
  auto full = describe_input_file("token_file", big);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->sha256, sha256_hex(content));

  auto missing = describe_input_file("input", d.str("nope.bin"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("nope.bin"), std::string::npos);
}

TEST(Manifest, JsonParsesBackWithAllFields) {
  TempDir d;
  RunManifest m;
  m.engine_version = "0.1.0";
  m.date_utc = utc_now_iso8601();
  m.command_line = "uce-run run.toml --set sampling.seed=3";
  m.config_toml = "[input]\npath = \"a.h5ad\"\n";
  m.fingerprint = "0123456789abcdef";
  m.output_path = "/out/x.h5ad";
  m.inputs.push_back({"input", "/data/a.h5ad", 123, "aa", "sha256", 0});
  m.inputs.push_back({"token_file", "/m/all_tokens.torch", 3000000000ull, "bb", "sha256-partial", 16u << 20});
  m.model_summary = {"family uce", "layers 4"};
  m.backend_plan = {{"layer0.attn.qkv", "blas", "op mapping: linear -> blas"}, {"embed", "reference", "default"}};
  m.sampler = "per-cell";
  m.seed = 3;
  m.cells_in_file = 100;
  m.cells_embedded = 97;
  m.cells_skipped = {{"all-zero counts", 1}, {"filter.min_genes", 2}};
  m.genes_in_file = 2000;
  m.genes_used = 1800;
  m.genes_dropped = {{"no protein embedding", 150}, {"no chromosome position", 50}};
  m.timings = {{"read", 1.5, 2.0, 50.0}, {"model", 10.0, 11.0, 9.0}};
  m.wall_s = 12.5;
  m.cells_per_s = 7.76;
  std::string path = d.str("run.manifest.json");
  ASSERT_TRUE(write_manifest_json(path, m));
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["engine"]["version"], "0.1.0");
  EXPECT_EQ(j["command_line"], m.command_line);
  EXPECT_EQ(j["config_toml"], m.config_toml);
  EXPECT_EQ(j["fingerprint"], "0123456789abcdef");
  EXPECT_EQ(j["output"], "/out/x.h5ad");
  ASSERT_EQ(j["inputs"].size(), 2u);
  EXPECT_EQ(j["inputs"][0]["path"], "/data/a.h5ad");
  EXPECT_EQ(j["inputs"][1]["size_bytes"].get<uint64_t>(), 3000000000ull);
  EXPECT_EQ(j["inputs"][1]["hash"], "sha256-partial");
  EXPECT_TRUE(j["inputs"][1].contains("hash_note"));
  EXPECT_FALSE(j["inputs"][0].contains("hash_note"));
  EXPECT_EQ(j["model"][1], "layers 4");
  EXPECT_EQ(j["backend_plan"][0]["node"], "layer0.attn.qkv");
  EXPECT_EQ(j["backend_plan"][0]["reason"], "op mapping: linear -> blas");
  EXPECT_EQ(j["sampling"]["sampler"], "per-cell");
  EXPECT_EQ(j["sampling"]["seed"], 3);
  EXPECT_EQ(j["cells"]["in_file"], 100);
  EXPECT_EQ(j["cells"]["embedded"], 97);
  EXPECT_EQ(j["cells"]["skipped"]["filter.min_genes"], 2);
  EXPECT_EQ(j["genes"]["used"], 1800);
  EXPECT_EQ(j["genes"]["dropped"]["no chromosome position"], 50);
  EXPECT_EQ(j["timings"]["stages"][1]["stage"], "model");
  EXPECT_DOUBLE_EQ(j["timings"]["stages"][1]["busy_s"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(j["timings"]["stages"][0]["cells_per_s"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(j["timings"]["wall_s"].get<double>(), 12.5);
  // Written through a temporary name: nothing else is left in the folder.
  int files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(d.path())) ++files;
  EXPECT_EQ(files, 1);
  // The date is ISO 8601 UTC: YYYY-MM-DDTHH:MM:SSZ.
  std::string date = j["date_utc"];
  ASSERT_EQ(date.size(), 20u);
  EXPECT_EQ(date[4], '-');
  EXPECT_EQ(date[10], 'T');
  EXPECT_EQ(date[19], 'Z');
}

TEST(Manifest, WriteFailsCleanlyWithoutFolder) {
  TempDir d;
  uce::Status s = write_manifest_json(d.str("missing/run.json"), RunManifest{});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("missing/run.json"), std::string::npos) << s.message();
}
