// executor.cpp — node assignment, copy planning, buffer planning and batch execution.
#include "uce/executor.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>

#include "uce/ops.hpp"

namespace uce {
namespace {

// Where a value lives on one backend.
struct Slot {
  int value = -1;
  int backend = -1;
  int pool = -1;             // index into the backend's pool buffers (-1: no buffer)
  const void* host = nullptr;  // fixed host memory (constants, shared host activations)
  bool from_input = false;   // host input pointer, known only at run time
  bool staged = false;       // filled by a copy from another backend after its producer runs
  int born = 0, dies = 0;    // node indices (inclusive) of its lifetime
};

struct PoolBuffer {
  size_t capacity = 0;
  uce_buffer* buffer = nullptr;
  void* host = nullptr;
  bool in_use = false;
};

size_t value_bytes(const Value& v, int64_t tokens, int64_t seqs) {
  return static_cast<size_t>(v.rows.eval(tokens, seqs)) * static_cast<size_t>(v.cols) *
         dtype_size(v.dtype);
}

uce_tensor describe_tensor(const Value& v, int64_t tokens, int64_t seqs) {
  uce_tensor t{};
  t.dtype = v.dtype;
  const int64_t rows = v.rows.eval(tokens, seqs);
  if (v.one_dim) {
    t.ndim = 1;
    t.ne[0] = rows;
    t.stride[0] = 1;
  } else {
    t.ndim = 2;
    t.ne[0] = rows;
    t.ne[1] = v.cols;
    t.stride[0] = v.cols;
    t.stride[1] = 1;
  }
  return t;
}

}  // namespace

struct Executor::Impl {
  std::vector<Backend*> backends;
  std::vector<bool> host_memory;          // backend computes on host-addressable memory
  std::vector<int> node_backend;          // per node
  std::vector<Slot> slots;
  std::map<std::pair<int, int>, int> slot_of;  // (value, backend) -> slot index
  std::vector<int> home_slot;             // value -> slot where it is produced (-1 for host values)
  std::vector<std::vector<PoolBuffer>> pools;  // per backend
  std::vector<std::vector<int>> copies_after;  // node -> staged slots to fill after it runs
  std::vector<int> staged_inputs;         // input slots on device backends, written per batch
  std::vector<uce_buffer*> constant_buffers;  // uploaded constants, per backend (for freeing)
  std::vector<int> constant_owner;        // backend index of each constant_buffers entry
  std::vector<std::vector<uint8_t>> staging;
  const std::map<int, const void*>* inputs = nullptr;
  int64_t tokens = 0, seqs = 0;
  std::vector<bool> kept;

  ~Impl() {
    for (size_t b = 0; b < pools.size(); ++b)
      for (auto& p : pools[b])
        if (p.buffer) backends[b]->free(p.buffer);
    for (size_t i = 0; i < constant_buffers.size(); ++i)
      backends[constant_owner[i]]->free(constant_buffers[i]);
  }

  uce_tensor tensor_of(const Graph& g, int slot_index) const {
    const Slot& s = slots[slot_index];
    const Value& v = g.values()[s.value];
    uce_tensor t = describe_tensor(v, tokens, seqs);
    if (s.from_input) {
      t.host_data = const_cast<void*>(inputs->at(s.value));
    } else if (s.pool >= 0) {
      const PoolBuffer& p = pools[s.backend][s.pool];
      t.buffer = p.buffer;
      t.host_data = p.host;
    } else {
      t.host_data = const_cast<void*>(s.host);
    }
    // A host backend reading another host backend's activation gets the memory, not the handle.
    if (s.host && s.pool < 0) t.buffer = nullptr;
    return t;
  }
};

std::string ExecutionPlan::to_text() const {
  std::ostringstream os;
  os << "plan for the largest batch: " << max_tokens << " token rows in " << max_sequences
     << " sequences\n";
  size_t wn = 4, wo = 2, wb = 7;
  for (const auto& n : nodes) {
    wn = std::max(wn, n.node.size());
    wo = std::max(wo, n.op.size());
    wb = std::max(wb, n.backend.size());
  }
  auto pad = [](const std::string& s, size_t w) { return s + std::string(w - std::min(w, s.size()), ' '); };
  os << "  " << pad("node", wn) << "  " << pad("op", wo) << "  " << pad("backend", wb) << "  reason\n";
  for (const auto& n : nodes)
    os << "  " << pad(n.node, wn) << "  " << pad(n.op, wo) << "  " << pad(n.backend, wb) << "  "
       << n.reason << "\n";
  int64_t per_batch = 0, once = 0;
  for (const auto& c : copies) {
    if (c.zero_copy) continue;
    (c.once ? once : per_batch) += c.bytes_per_batch;
  }
  os << "copies: " << per_batch << " bytes per batch, " << once << " bytes once (weights)\n";
  for (const auto& c : copies) {
    if (c.zero_copy && c.once) continue;  // constants read in place: not worth a line each
    os << "  " << c.value << ": " << c.from << " -> " << c.to << "  "
       << (c.zero_copy ? std::string("shared host memory, 0 bytes")
                       : std::to_string(c.bytes_per_batch) + (c.once ? " bytes once" : " bytes per batch"))
       << "\n";
  }
  for (const auto& [b, bytes] : activation_bytes)
    os << "memory " << b << ": activations " << bytes << " bytes"
       << (constant_bytes.count(b) ? ", uploaded weights " + std::to_string(constant_bytes.at(b)) + " bytes" : "")
       << "\n";
  return os.str();
}

Executor::Executor(const Graph& graph) : graph_(graph) {}
Executor::~Executor() = default;

static uce_op op_of(const Node& n, const std::vector<const uce_tensor*>& srcs, const uce_tensor* dst) {
  uce_op op{};
  op.struct_size = sizeof(uce_op);
  op.type = n.type;
  op.activation = n.activation;
  op.n_heads = n.n_heads;
  op.eps = n.eps;
  op.scale = n.scale;
  op.n_srcs = static_cast<int32_t>(srcs.size());
  for (size_t i = 0; i < srcs.size() && i < UCE_MAX_SRCS; ++i) op.srcs[i] = srcs[i];
  op.dst = dst;
  op.name = n.name.c_str();
  return op;
}

Result<std::unique_ptr<Executor>> Executor::create(const Graph& graph,
                                                   const std::vector<Backend*>& backends,
                                                   const AssignmentRules& rules,
                                                   int64_t max_tokens, int64_t max_sequences,
                                                   const std::vector<std::string>& keep) {
  using R = Result<std::unique_ptr<Executor>>;
  std::unique_ptr<Executor> ex(new Executor(graph));
  ex->impl_ = std::make_unique<Impl>();
  Impl& im = *ex->impl_;
  const Graph& g = ex->graph_;
  const auto& values = g.values();
  const auto& nodes = g.nodes();
  im.backends = backends;
  im.pools.resize(backends.size());
  ex->plan_.max_tokens = max_tokens;
  ex->plan_.max_sequences = max_sequences;

  auto backend_index = [&](const std::string& name) {
    for (size_t i = 0; i < backends.size(); ++i)
      if (backends[i]->name() == name) return static_cast<int>(i);
    return -1;
  };
  // Does the backend compute on host memory? Ask it for a small buffer.
  for (Backend* b : backends) {
    auto buf = b->alloc(64);
    if (!buf) return R::error(buf.message());
    im.host_memory.push_back(b->host_ptr(*buf) != nullptr);
    b->free(*buf);
  }

  // ---- 1. assign every node a backend --------------------------------------------------------
  for (const Node& n : nodes) {
    std::vector<uce_tensor> ts;
    ts.reserve(n.srcs.size() + 1);
    std::vector<const uce_tensor*> srcs;
    for (int s : n.srcs) {
      if (s < 0) {
        srcs.push_back(nullptr);
        continue;
      }
      ts.push_back(describe_tensor(values[s], max_tokens, max_sequences));
      srcs.push_back(&ts.back());
    }
    ts.push_back(describe_tensor(values[n.dst], max_tokens, max_sequences));
    const uce_op op = op_of(n, srcs, &ts.back());
    const std::string what = "node '" + n.name + "' (" + op_type_name(n.type) + ")";

    auto explicit_choice = [&](const std::string& name, const std::string& why_chosen) -> Result<int> {
      const int b = backend_index(name);
      if (b < 0) return Result<int>::error(what + ": " + why_chosen + " names backend '" + name + "', which is not open (add it to [backends] default or check its plugin)");
      std::string why;
      if (!backends[b]->supports(op, &why))
        return Result<int>::error(what + ": " + why_chosen + " = '" + name + "', but that backend cannot run it: " + why);
      return b;
    };
    NodeAssignment a{n.name, op_type_name(n.type), "", ""};
    int chosen = -1;
    if (auto it = rules.node_backend.find(n.name); it != rules.node_backend.end()) {
      auto r = explicit_choice(it->second, "[nodes] \"" + n.name + "\"");
      if (!r) return R::error(r.message());
      chosen = *r;
      a.reason = "[nodes] override";
    } else if (auto it2 = rules.op_backend.find(n.type); it2 != rules.op_backend.end()) {
      auto r = explicit_choice(it2->second, std::string("[ops] ") + op_type_name(n.type));
      if (!r) return R::error(r.message());
      chosen = *r;
      a.reason = std::string("[ops] ") + op_type_name(n.type);
    } else {
      std::string refused;
      for (const auto& name : rules.default_order) {
        const int b = backend_index(name);
        if (b < 0) continue;
        std::string why;
        if (backends[b]->supports(op, &why)) {
          chosen = b;
          break;
        }
        refused += (refused.empty() ? "" : "; ") + name + ": " + why;
      }
      if (chosen < 0)
        return R::error(what + ": no backend of the default order can run it" +
                        (refused.empty() ? std::string(" (none open)") : ": " + refused));
      a.reason = refused.empty() ? "default order" : "default order (" + refused + ")";
    }
    a.backend = backends[chosen]->name();
    im.node_backend.push_back(chosen);
    ex->plan_.nodes.push_back(a);
  }

  // ---- 2. slots: where each value lives on each backend that touches it ---------------------
  im.kept.assign(values.size(), false);
  for (int v : g.outputs()) im.kept[v] = true;
  for (const auto& name : keep) {
    const int v = g.find_value(name);
    if (v < 0) return R::error("executor: value '" + name + "' to keep is not in the graph");
    im.kept[v] = true;
  }
  im.home_slot.assign(values.size(), -1);
  im.copies_after.assign(nodes.size(), {});
  const int n_nodes = static_cast<int>(nodes.size());
  auto new_slot = [&](Slot s) {
    im.slots.push_back(s);
    const int idx = static_cast<int>(im.slots.size()) - 1;
    im.slot_of[{s.value, s.backend}] = idx;
    return idx;
  };
  for (int ni = 0; ni < n_nodes; ++ni) {
    const Node& n = nodes[ni];
    const int b = im.node_backend[ni];
    for (int v : n.srcs) {
      if (v < 0) continue;
      auto it = im.slot_of.find({v, b});
      if (it != im.slot_of.end()) {
        im.slots[it->second].dies = ni;
        continue;
      }
      const Value& val = values[v];
      Slot s;
      s.value = v;
      s.backend = b;
      s.born = s.dies = ni;
      PlannedCopy c{val.name, "host", backends[b]->name(), static_cast<int64_t>(value_bytes(val, max_tokens, max_sequences)), false, false};
      if (val.kind == ValueKind::Constant) {
        c.once = true;
        if (im.host_memory[b]) {
          s.host = val.host;
          c.zero_copy = true;
        } else {
          auto buf = backends[b]->alloc(c.bytes_per_batch);
          if (!buf) return R::error("uploading " + val.name + ": " + buf.message());
          if (Status st = backends[b]->write(*buf, 0, val.host, c.bytes_per_batch); !st)
            return R::error("uploading " + val.name + ": " + st.message());
          im.constant_buffers.push_back(*buf);
          im.constant_owner.push_back(b);
          ex->plan_.constant_bytes[backends[b]->name()] += c.bytes_per_batch;
          s.pool = -2;  // marker: fixed device buffer (stored below)
          s.host = *buf;  // the handle, see tensor_of override below
        }
        s.born = 0;
        s.dies = n_nodes - 1;
      } else if (val.kind == ValueKind::Input) {
        if (im.host_memory[b]) {
          s.from_input = true;
          c.zero_copy = true;
        } else {
          im.staged_inputs.push_back(-1);  // filled after the slot exists
        }
        s.born = 0;
      } else {
        const int home = im.home_slot[v];
        const Slot& hs = im.slots[home];
        c.from = backends[hs.backend]->name();
        if (im.host_memory[hs.backend] && im.host_memory[b]) {
          c.zero_copy = true;
          s.host = nullptr;  // resolved at run time from the home slot's pool buffer
        } else {
          s.staged = true;
          s.born = hs.born;
        }
      }
      const int idx = new_slot(s);
      if (val.kind == ValueKind::Input && !im.host_memory[b]) im.staged_inputs.back() = idx;
      if (val.kind == ValueKind::Activation && s.staged) im.copies_after[im.slots[im.home_slot[v]].born].push_back(idx);
      ex->plan_.copies.push_back(c);
    }
    Slot d;
    d.value = n.dst;
    d.backend = b;
    d.born = d.dies = ni;
    im.home_slot[n.dst] = new_slot(d);
  }
  // Zero-copy activation slots share the home slot's lifetime: extend the home's death.
  for (auto& s : im.slots) {
    const Value& val = values[s.value];
    if (val.kind != ValueKind::Activation || s.staged || im.home_slot[s.value] < 0) continue;
    Slot& home = im.slots[im.home_slot[s.value]];
    if (&home != &s) home.dies = std::max(home.dies, s.dies);
  }
  for (auto& s : im.slots)
    if (im.kept[s.value]) s.dies = n_nodes;  // never released

  // ---- 3. buffer planning: pooled, reused once a value is dead ------------------------------
  std::vector<std::vector<int>> born_at(n_nodes + 1), dies_at(n_nodes + 1);
  for (size_t i = 0; i < im.slots.size(); ++i) {
    const Slot& s = im.slots[i];
    const Value& val = values[s.value];
    const bool needs_pool = (val.kind == ValueKind::Activation && (s.staged || im.home_slot[s.value] == static_cast<int>(i))) ||
                            (val.kind == ValueKind::Input && !s.from_input);
    if (!needs_pool) continue;
    born_at[s.born].push_back(static_cast<int>(i));
    dies_at[s.dies].push_back(static_cast<int>(i));
  }
  for (int t = 0; t <= n_nodes; ++t) {
    for (int si : born_at[t]) {
      Slot& s = im.slots[si];
      const size_t need = std::max<size_t>(value_bytes(values[s.value], max_tokens, max_sequences), 16);
      auto& pool = im.pools[s.backend];
      int best = -1;
      for (size_t p = 0; p < pool.size(); ++p) {
        if (pool[p].in_use) continue;
        if (best < 0) { best = static_cast<int>(p); continue; }
        const PoolBuffer& cur = pool[best];
        const bool fits = pool[p].capacity >= need, cur_fits = cur.capacity >= need;
        if ((fits && !cur_fits) || (fits && cur_fits && pool[p].capacity < cur.capacity) ||
            (!fits && !cur_fits && pool[p].capacity > cur.capacity))
          best = static_cast<int>(p);
      }
      if (best < 0) {
        pool.push_back({});
        best = static_cast<int>(pool.size()) - 1;
      }
      pool[best].capacity = std::max(pool[best].capacity, need);
      pool[best].in_use = true;
      s.pool = best;
    }
    for (int si : dies_at[t]) im.pools[im.slots[si].backend][im.slots[si].pool].in_use = false;
  }
  for (size_t b = 0; b < backends.size(); ++b) {
    int64_t total = 0;
    for (auto& p : im.pools[b]) {
      auto buf = backends[b]->alloc(p.capacity);
      if (!buf) return R::error("planning activations on " + backends[b]->name() + ": " + buf.message());
      p.buffer = *buf;
      p.host = backends[b]->host_ptr(*buf);
      total += static_cast<int64_t>(p.capacity);
    }
    if (total > 0 || !im.pools[b].empty()) ex->plan_.activation_bytes[backends[b]->name()] = total;
  }
  // Zero-copy activation slots point at their home's pool memory, fixed from now on.
  for (auto& s : im.slots) {
    const Value& val = values[s.value];
    if (val.kind != ValueKind::Activation || s.staged) continue;
    const Slot& home = im.slots[im.home_slot[s.value]];
    if (&home == &s) continue;
    s.host = im.pools[home.backend][home.pool].host;
    s.pool = -1;
  }
  return ex;
}

Status Executor::run(int64_t tokens, int64_t sequences, const std::map<int, const void*>& inputs) {
  Impl& im = *impl_;
  const auto& values = graph_.values();
  const auto& nodes = graph_.nodes();
  if (tokens > plan_.max_tokens || sequences > plan_.max_sequences)
    return Status::error("batch of " + std::to_string(tokens) + " tokens / " + std::to_string(sequences) +
                         " sequences exceeds the plan (" + std::to_string(plan_.max_tokens) + " / " +
                         std::to_string(plan_.max_sequences) + ")");
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v].kind == ValueKind::Input && !inputs.count(static_cast<int>(v)))
      return Status::error("executor: input '" + values[v].name + "' not provided");
  im.inputs = &inputs;
  im.tokens = tokens;
  im.seqs = sequences;

  auto tensor = [&](int slot) {
    const Slot& s = im.slots[slot];
    uce_tensor t = im.tensor_of(graph_, slot);
    if (s.pool == -2) {  // uploaded constant: `host` holds the device buffer handle
      t.buffer = static_cast<uce_buffer*>(const_cast<void*>(s.host));
      t.host_data = im.backends[s.backend]->host_ptr(t.buffer);
    }
    return t;
  };
  for (int si : im.staged_inputs) {
    const Slot& s = im.slots[si];
    const PoolBuffer& p = im.pools[s.backend][s.pool];
    UCE_TRY(im.backends[s.backend]->write(p.buffer, 0, inputs.at(s.value), value_bytes(values[s.value], tokens, sequences)));
  }
  std::vector<bool> used(im.backends.size(), false);
  for (size_t ni = 0; ni < nodes.size(); ++ni) {
    const Node& n = nodes[ni];
    const int b = im.node_backend[ni];
    used[b] = true;
    std::vector<uce_tensor> ts;
    ts.reserve(n.srcs.size() + 1);
    std::vector<const uce_tensor*> srcs;
    for (int v : n.srcs) {
      if (v < 0) {
        srcs.push_back(nullptr);
        continue;
      }
      ts.push_back(tensor(im.slot_of.at({v, b})));
      srcs.push_back(&ts.back());
    }
    ts.push_back(tensor(im.home_slot[n.dst]));
    const uce_op op = op_of(n, srcs, &ts.back());
    const auto t0 = std::chrono::steady_clock::now();
    UCE_TRY(im.backends[b]->compute(op));
    if (node_timer_) {
      UCE_TRY(im.backends[b]->synchronize());
      node_timer_(static_cast<int>(ni), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    for (int si : im.copies_after[ni]) {  // move the result to other backends that need it
      const Slot& dst = im.slots[si];
      const Slot& src = im.slots[im.home_slot[n.dst]];
      const size_t bytes = value_bytes(values[n.dst], tokens, sequences);
      auto& stage = im.staging.emplace_back(bytes);
      UCE_TRY(im.backends[src.backend]->synchronize());
      UCE_TRY(im.backends[src.backend]->read(im.pools[src.backend][src.pool].buffer, 0, stage.data(), bytes));
      UCE_TRY(im.backends[dst.backend]->write(im.pools[dst.backend][dst.pool].buffer, 0, stage.data(), bytes));
    }
    im.staging.clear();
  }
  for (size_t b = 0; b < im.backends.size(); ++b)
    if (used[b]) UCE_TRY(im.backends[b]->synchronize());
  return Status::ok();
}

Status Executor::read(int value, std::vector<float>& out) {
  Impl& im = *impl_;
  if (value < 0 || value >= static_cast<int>(graph_.values().size()) || !im.kept[value])
    return Status::error("executor: value " + std::to_string(value) + " is not kept");
  const Value& v = graph_.values()[value];
  if (v.dtype != UCE_F32) return Status::error("executor: value '" + v.name + "' is not f32");
  const Slot& s = im.slots[im.home_slot[value]];
  const size_t bytes = value_bytes(v, im.tokens, im.seqs);
  out.resize(bytes / sizeof(float));
  const PoolBuffer& p = im.pools[s.backend][s.pool];
  if (p.host) {
    std::memcpy(out.data(), p.host, bytes);
    return Status::ok();
  }
  return im.backends[s.backend]->read(p.buffer, 0, out.data(), bytes);
}

Status Executor::read(const std::string& value_name, std::vector<float>& out) {
  const int v = graph_.find_value(value_name);
  if (v < 0) return Status::error("executor: no value named '" + value_name + "'");
  return read(v, out);
}

}  // namespace uce
