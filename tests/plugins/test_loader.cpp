// Loader tests: each broken plugin is refused with a clean, specific one-line error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "uce/backend.hpp"
#include "uce/plugin_loader.hpp"

namespace {
const std::string kDir = UCE_FIXTURE_PLUGIN_DIR;

uce_backend_options default_options() {
  uce_backend_options o{};
  o.struct_size = sizeof(o);
  o.device_index = -1;
  return o;
}

TEST(Loader, WrongAbiMajorIsRefused) {
  uce::PluginRegistry reg;
  auto r = reg.load_file(kDir + "/uce_broken_1.so");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("ABI major " + std::to_string(UCE_ABI_MAJOR + 1)), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("uce_broken_1.so"), std::string::npos);
  EXPECT_EQ(r.message().find('\n'), std::string::npos);
}

TEST(Loader, ProbeZeroIsRefusedWithItsReason) {
  uce::PluginRegistry reg;
  auto r = reg.load_file(kDir + "/uce_broken_2.so");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("no device found (fixture)"), std::string::npos) << r.message();
}

TEST(Loader, FailingDeviceOpenIsAnError) {
  uce::PluginRegistry reg;
  auto r = reg.load_file(kDir + "/uce_broken_3.so");
  ASSERT_TRUE(r) << r.message();
  auto b = uce::Backend::open(*r, default_options());
  ASSERT_FALSE(b);
  EXPECT_NE(b.message().find("openfails"), std::string::npos) << b.message();
  EXPECT_NE(b.message().find("device 0 is lost (fixture)"), std::string::npos) << b.message();
}

TEST(Loader, MissingEntrySymbolIsRefused) {
  uce::PluginRegistry reg;
  auto r = reg.load_file(kDir + "/uce_broken_4.so");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("missing entry symbol uce_plugin_entry"), std::string::npos) << r.message();
}

TEST(Loader, NotASharedObjectIsRefused) {
  const auto path = std::filesystem::temp_directory_path() / "uce_not_a_library.so";
  std::ofstream(path) << "just text";
  uce::PluginRegistry reg;
  auto r = reg.load_file(path.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("cannot load"), std::string::npos) << r.message();
  std::filesystem::remove(path);
}

TEST(Loader, DiscoverLogsEveryCandidateAndFindExplainsRefusals) {
  uce::PluginRegistry reg;
  std::vector<std::string> lines;
  reg.discover({kDir, "/nonexistent-uce-dir"}, [&](int, const std::string& l) { lines.push_back(l); });
  // 4 broken + minimal in the folder, plus the missing folder.
  EXPECT_GE(lines.size(), 6u);
  auto minimal = reg.find("minimal", UCE_PLUGIN_BACKEND);
  ASSERT_TRUE(minimal) << minimal.message();
  auto missing = reg.find("nodevice", UCE_PLUGIN_BACKEND);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("no device found (fixture)"), std::string::npos) << missing.message();
  auto absent = reg.find("vulkan-nope", UCE_PLUGIN_BACKEND);
  ASSERT_FALSE(absent);
  EXPECT_NE(absent.message().find("not available"), std::string::npos);
  // The reference backend is always there.
  EXPECT_TRUE(reg.find("reference", UCE_PLUGIN_BACKEND));
}

TEST(Loader, DuplicateNamesAreRefused) {
  uce::PluginRegistry reg;
  ASSERT_TRUE(reg.load_file(kDir + "/uce_backend_minimal.so"));
  const auto copy = std::filesystem::temp_directory_path() / "uce_backend_minimal_copy.so";
  std::filesystem::copy_file(kDir + "/uce_backend_minimal.so", copy, std::filesystem::copy_options::overwrite_existing);
  auto r = reg.load_file(copy.string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("duplicate plugin name 'minimal'"), std::string::npos) << r.message();
  std::filesystem::remove(copy);
}
}  // namespace
