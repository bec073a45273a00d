// Fuzz-style robustness: seeded random byte flips and truncations of the good fixtures. Every
// call must return (ok or error) without crashing, and any tensor a reader returns must lie
// entirely inside the mapped file (checked element by element, so ASan sees every byte read).
#include <gtest/gtest.h>

#include <random>

#include "io_test_support.hpp"

using namespace io_test;

namespace {

constexpr int kIterations = 300;

// Mutates a copy: flips 1-8 bytes (half the time inside `hot`, the structural region), and
// truncates in a quarter of the cases.
Bytes mutate(const Bytes& good, std::mt19937& rng, size_t hot_begin, size_t hot_end) {
  Bytes b = good;
  std::uniform_int_distribution<int> coin(0, 3);
  const int flips = 1 + static_cast<int>(rng() % 8);
  for (int k = 0; k < flips; ++k) {
    const bool hot = coin(rng) < 2 && hot_end > hot_begin;
    const size_t at = hot ? hot_begin + rng() % (hot_end - hot_begin) : rng() % b.size();
    b[at] = static_cast<uint8_t>(rng() & 0xff);
  }
  if (coin(rng) == 0) b.resize(rng() % b.size());
  return b;
}

bool views_inside(const std::vector<std::pair<std::string, uce::io::TensorView>>& views) {
  for (const auto& kv : views) {
    if (!touch_all_elements(kv.second)) return false;
  }
  return true;
}

bool values_inside(const uce::io::PyValue& v, int depth = 0) {
  if (depth > 300) return false;
  if (v.is_tensor()) return touch_all_elements(v.tensor);
  for (const auto& item : v.items) if (!values_inside(item, depth + 1)) return false;
  for (const auto& [k, val] : v.dict) if (!values_inside(k, depth + 1) || !values_inside(val, depth + 1)) return false;
  return true;
}

void check_error(const std::string& message, const std::string& path) {
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace

TEST(Fuzz, TorchArchiveMutations) {
  const Bytes good = read_bytes(fixture("tiny_model.torch"));
  ASSERT_FALSE(good.empty());
  std::mt19937 rng(20240611);
  int ok = 0;
  for (int it = 0; it < kIterations; ++it) {
    // Structure: data.pkl sits at the front, the central directory at the back.
    const size_t hot_begin = (it % 2 == 0) ? 0 : good.size() - 700;
    const size_t hot_end = (it % 2 == 0) ? 1400 : good.size();
    const auto path = write_temp("fuzz_" + std::to_string(it) + ".torch", mutate(good, rng, hot_begin, hot_end));
    auto root = uce::io::read_torch_file(path);
    if (root.is_ok()) {
      ++ok;
      EXPECT_TRUE(values_inside(root.value())) << path;
    } else {
      check_error(root.message(), path);
    }
    auto sd = uce::io::read_torch_state_dict(path);
    if (sd.is_ok()) EXPECT_TRUE(views_inside(sd.value())) << path;
    else check_error(sd.message(), path);
    auto keys = uce::io::read_torch_dict_keys(path);
    if (!keys.is_ok()) check_error(keys.message(), path);
    auto t = uce::io::read_torch_tensor(path);
    EXPECT_FALSE(t.is_ok());  // the root is never a single tensor
  }
  // Flips in tensor bytes leave the archive valid: some iterations must succeed.
  EXPECT_GT(ok, 0);
}

TEST(Fuzz, GeneDictMutations) {
  const Bytes good = read_bytes(fixture("protein_embeddings_tiny.pt"));
  std::mt19937 rng(7);
  for (int it = 0; it < kIterations / 3; ++it) {
    const auto path = write_temp("fuzz_genes_" + std::to_string(it) + ".pt", mutate(good, rng, 0, 4000));
    auto sd = uce::io::read_torch_state_dict(path);
    if (sd.is_ok()) EXPECT_TRUE(views_inside(sd.value())) << path;
    else check_error(sd.message(), path);
  }
}

TEST(Fuzz, PlainPickleMutations) {
  for (const char* name : {"species_offsets_p2.pkl", "species_offsets_p4.pkl", "plain_values_p4.pkl"}) {
    const Bytes good = read_bytes(fixture(name));
    std::mt19937 rng(99);
    for (int it = 0; it < kIterations; ++it) {
      const auto path = write_temp("fuzz_" + std::to_string(it) + "_" + name, mutate(good, rng, 0, good.size()));
      auto r = uce::io::read_pickle_file(path);
      if (!r.is_ok()) check_error(r.message(), path);
    }
  }
}

TEST(Fuzz, SafetensorsMutations) {
  const Bytes good = read_bytes(fixture("tiny.safetensors"));
  std::mt19937 rng(1234);
  int ok = 0;
  for (int it = 0; it < kIterations; ++it) {
    const auto path = write_temp("fuzz_" + std::to_string(it) + ".safetensors", mutate(good, rng, 0, good.size() - 60));
    auto r = uce::io::read_safetensors(path);
    if (r.is_ok()) {
      ++ok;
      EXPECT_TRUE(views_inside(r->tensors)) << path;
    } else {
      check_error(r.message(), path);
    }
  }
  EXPECT_GT(ok, 0);
}
