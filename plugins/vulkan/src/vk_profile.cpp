// vk_profile.cpp — opt-in GPU timestamp profiler (UCE_VULKAN_PROFILE=1, or 2 for one line per
// submitted batch). A timestamp is written at the start of every batch and after every recorded
// command (dispatch or transfer); since the dispatches of a batch are serialised by barriers, the
// difference between consecutive timestamps is that command's GPU time, including its barrier and
// launch gap, and the differences add up exactly to the batch's GPU time. Per-label totals
// (count, workgroups, µs, share) are printed to stderr when the backend closes, with the host
// side of each batch (recording span, submit-to-fence wait) to compare with the GPU span.
// Off (no variable, or "0"): no query pool exists and every hook returns at its first test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "vk_context.hpp"
#include "vk_device_query.hpp"

namespace uce_vk {

namespace {
constexpr uint32_t k_queries = 16384;  // timestamps per batch; later commands of a batch go unprofiled

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}
}  // namespace

struct Profiler {
  int level = 1;
  VkQueryPool pool = VK_NULL_HANDLE;
  double period_ns = 1.0;  // VkPhysicalDeviceLimits::timestampPeriod
  uint64_t mask = ~0ull;   // timestampValidBits of the queue family
  // this batch
  uint32_t used = 0;  // timestamps written (the first is the batch start)
  std::vector<std::string> labels;
  std::vector<uint64_t> groups;
  uint64_t overflow = 0;
  double t_begin = 0, t_submit = 0;
  // totals over the backend's life
  struct Row {
    uint64_t count = 0, groups = 0;
    double ns = 0, max_ns = 0;
  };
  std::map<std::string, Row> rows;
  uint64_t batches = 0, commands = 0;
  double gpu_ns = 0, record_ns = 0, wait_ns = 0;
};

bool profile_requested() {
  const char* v = std::getenv("UCE_VULKAN_PROFILE");  // debug/measurement switch only
  return v && *v && std::strcmp(v, "0") != 0;
}

void profile_init(Context& ctx) {
  if (!profile_requested()) return;
  const char* v = std::getenv("UCE_VULKAN_PROFILE");
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(ctx.phys, &n, nullptr);
  std::vector<VkQueueFamilyProperties> fams(n);
  vkGetPhysicalDeviceQueueFamilyProperties(ctx.phys, &n, fams.data());
  const uint32_t bits = ctx.queue_family < n ? fams[ctx.queue_family].timestampValidBits : 0;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(ctx.phys, &props);
  if (bits == 0 || props.limits.timestampPeriod <= 0.0f) {
    std::fprintf(stderr, "uce vulkan profile: off: queue family %u has no timestamps (validBits %u, period %g)\n",
                 ctx.queue_family, bits, static_cast<double>(props.limits.timestampPeriod));
    return;
  }
  auto* p = new Profiler();
  p->level = std::atoi(v) >= 2 ? 2 : 1;
  p->period_ns = props.limits.timestampPeriod;
  p->mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1ull);
  VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qci.queryCount = k_queries;
  VkResult r = vkCreateQueryPool(ctx.device, &qci, nullptr, &p->pool);
  if (r != VK_SUCCESS) {
    std::fprintf(stderr, "uce vulkan profile: off: vkCreateQueryPool failed: %s\n", vk_result_name(r));
    delete p;
    return;
  }
  std::fprintf(stderr, "uce vulkan profile: on (%s; timestamp period %g ns, %u valid bits)\n",
               ctx.caps.device_name.c_str(), p->period_ns, bits);
  ctx.profiler = p;
}

void profile_begin(Context& ctx) {
  Profiler* p = ctx.profiler;
  if (!p) return;
  p->used = 0;
  p->labels.clear();
  p->groups.clear();
  p->t_begin = now_ns();
  vkCmdResetQueryPool(ctx.cmd, p->pool, 0, k_queries);
  vkCmdWriteTimestamp(ctx.cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->pool, p->used++);
}

void profile_command(Context& ctx, const char* label, uint64_t groups) {
  Profiler* p = ctx.profiler;
  if (!p) return;
  if (p->used >= k_queries) {
    ++p->overflow;
    return;
  }
  vkCmdWriteTimestamp(ctx.cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->pool, p->used++);
  p->labels.emplace_back(label ? label : "?");
  p->groups.push_back(groups);
}

void profile_submitted(Context& ctx) {
  if (ctx.profiler) ctx.profiler->t_submit = now_ns();
}

void profile_finished(Context& ctx) {
  Profiler* p = ctx.profiler;
  if (!p || p->used < 2) return;
  const double t_done = now_ns();
  std::vector<uint64_t> ts(p->used);
  VkResult r = vkGetQueryPoolResults(ctx.device, p->pool, 0, p->used, ts.size() * sizeof(uint64_t), ts.data(),
                                     sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  if (r != VK_SUCCESS) {
    std::fprintf(stderr, "uce vulkan profile: vkGetQueryPoolResults failed: %s\n", vk_result_name(r));
    return;
  }
  auto span = [&](uint32_t a, uint32_t b) {
    return static_cast<double>((ts[b] - ts[a]) & p->mask) * p->period_ns;
  };
  std::map<std::string, double> batch_rows;
  for (uint32_t i = 1; i < p->used; ++i) {
    const double ns = span(i - 1, i);
    Profiler::Row& row = p->rows[p->labels[i - 1]];
    ++row.count;
    row.groups += p->groups[i - 1];
    row.ns += ns;
    row.max_ns = std::max(row.max_ns, ns);
    batch_rows[p->labels[i - 1]] += ns;
  }
  const double gpu = span(0, p->used - 1);
  ++p->batches;
  p->commands += p->used - 1;
  p->gpu_ns += gpu;
  p->record_ns += p->t_submit - p->t_begin;
  p->wait_ns += t_done - p->t_submit;
  if (p->level >= 2 && p->used > 2) {
    // One line per batch: its GPU span, host recording span and wait, and its three largest labels.
    std::vector<std::pair<double, std::string>> top;
    for (auto& kv : batch_rows) top.emplace_back(kv.second, kv.first);
    std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::fprintf(stderr, "uce vulkan profile: batch %llu: %u commands, gpu %.1f us, record %.1f us, wait %.1f us;",
                 static_cast<unsigned long long>(p->batches), p->used - 1, gpu * 1e-3,
                 (p->t_submit - p->t_begin) * 1e-3, (t_done - p->t_submit) * 1e-3);
    for (size_t i = 0; i < top.size() && i < 3; ++i)
      std::fprintf(stderr, " %s %.1f us", top[i].second.c_str(), top[i].first * 1e-3);
    std::fprintf(stderr, "\n");
  }
}

void profile_pipeline_stats(Context& ctx, VkPipeline pipeline, const std::string& name) {
  const std::string line = pipeline_statistics(ctx.device, pipeline);
  if (!line.empty()) std::fprintf(stderr, "uce vulkan profile: pipeline %s: %s\n", name.c_str(), line.c_str());
}

void profile_report(Context& ctx) {
  Profiler* p = ctx.profiler;
  if (!p) return;
  std::vector<std::pair<std::string, Profiler::Row>> rows(p->rows.begin(), p->rows.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  double total = 0;
  for (auto& kv : rows) total += kv.second.ns;
  std::fprintf(stderr,
               "uce vulkan profile: %llu batches, %llu commands (%llu unprofiled); GPU %.3f ms, host recording "
               "%.3f ms, host submit-to-fence %.3f ms\n",
               static_cast<unsigned long long>(p->batches), static_cast<unsigned long long>(p->commands),
               static_cast<unsigned long long>(p->overflow), p->gpu_ns * 1e-6, p->record_ns * 1e-6,
               p->wait_ns * 1e-6);
  std::fprintf(stderr, "uce vulkan profile: %-40s %8s %12s %12s %10s %10s %7s\n", "label", "count", "workgroups",
               "total us", "mean us", "max us", "share");
  for (auto& kv : rows) {
    const Profiler::Row& r = kv.second;
    std::fprintf(stderr, "uce vulkan profile: %-40s %8llu %12llu %12.1f %10.2f %10.1f %6.1f%%\n", kv.first.c_str(),
                 static_cast<unsigned long long>(r.count), static_cast<unsigned long long>(r.groups), r.ns * 1e-3,
                 r.ns * 1e-3 / static_cast<double>(r.count), r.max_ns * 1e-3, total > 0 ? 100.0 * r.ns / total : 0.0);
  }
}

void profile_shutdown(Context& ctx) {
  Profiler* p = ctx.profiler;
  if (!p) return;
  profile_report(ctx);
  if (p->pool) vkDestroyQueryPool(ctx.device, p->pool, nullptr);
  delete p;
  ctx.profiler = nullptr;
}

}  // namespace uce_vk
