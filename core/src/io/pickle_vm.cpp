// pickle_vm.cpp — see pickle_vm.hpp. Opcode semantics follow CPython's Lib/pickle.py and
// Lib/pickletools.py. Objects live in an arena owned by the VM (raw pointers between them), so
// hostile cycles (a list appended to itself) cannot leak; the final conversion to PyValue is
// bounded in depth and size so shared references cannot blow up memory.
#include "pickle_vm.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include "io_util.hpp"
#include "uce/uce_plugin.h"

namespace uce::io::detail {
namespace {

// Bounds that no real model pickle comes near, but that keep a hostile one from exhausting memory.
constexpr size_t kMaxObjects = size_t{1} << 22;     // every opcode makes at most one object
constexpr size_t kMaxStack = size_t{1} << 22;
constexpr size_t kMaxMarks = size_t{1} << 16;
constexpr size_t kMaxMemo = size_t{1} << 22;
constexpr size_t kMaxTensorDims = 16;
constexpr int kMaxDepth = 200;                        // nesting of the result
constexpr size_t kMaxResultValues = size_t{1} << 21;  // values in the result, shared ones counted each time
constexpr uint64_t kMaxResultBytes = uint64_t{1} << 28;

enum class Global {
  OrderedDict,
  RebuildTensorV2,
  RebuildParameter,
  Storage,  // one of the typed storage classes; the dtype is in Obj::dtype
};

struct AllowedGlobal {
  const char* module;
  const char* name;
  Global kind;
  int32_t dtype;
};

constexpr AllowedGlobal kAllowList[] = {
    {"collections", "OrderedDict", Global::OrderedDict, 0},
    {"torch._utils", "_rebuild_tensor_v2", Global::RebuildTensorV2, 0},
    {"torch._utils", "_rebuild_parameter", Global::RebuildParameter, 0},
    {"torch", "FloatStorage", Global::Storage, UCE_F32},
    {"torch", "HalfStorage", Global::Storage, UCE_F16},
    {"torch", "BFloat16Storage", Global::Storage, UCE_BF16},
    {"torch", "DoubleStorage", Global::Storage, UCE_F64},
    {"torch", "IntStorage", Global::Storage, UCE_I32},
    {"torch", "LongStorage", Global::Storage, UCE_I64},
    {"torch", "ByteStorage", Global::Storage, UCE_U8},
};

const char* allow_list_text() {
  return "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, "
         "torch.{Float,Half,BFloat16,Double,Int,Long,Byte}Storage";
}

enum class Kind { None, Bool, Int, Float, Str, Bytes, List, Tuple, Dict, Tensor, Global, Storage };

const char* kind_text(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
  }
  return "?";
}

struct Obj;

// Where each str / int key sits in a dict: Python replaces the value of a repeated key in place.
struct KeyIndex {
  std::unordered_map<std::string, size_t> str_keys;
  std::unordered_map<int64_t, size_t> int_keys;
};

struct Container {
  std::vector<Obj*> items;                  // list / tuple
  std::vector<std::pair<Obj*, Obj*>> dict;  // insertion order
  std::unique_ptr<KeyIndex> index;          // dicts only, made on the first SETITEM
};

struct Obj {
  Kind kind = Kind::None;
  int64_t i = 0;     // Int, Bool
  double f = 0.0;    // Float
  Global global = Global::OrderedDict;
  int32_t dtype = 0;  // Storage global, Storage
  std::string s;      // Str, Bytes, Global's dotted name
  std::unique_ptr<Container> c;      // List, Tuple, Dict
  std::unique_ptr<TensorView> tensor;  // Tensor
  StorageRef storage;                  // Storage
};

const char* opcode_name(uint8_t op) {
  switch (op) {
    case 0x80: return "PROTO";
    case 0x95: return "FRAME";
    case '.': return "STOP";
    case '(': return "MARK";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case '}': return "EMPTY_DICT";
    case ']': return "EMPTY_LIST";
    case ')': return "EMPTY_TUPLE";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 0x94: return "MEMOIZE";
    case 'h': return "BINGET";
    case 'j': return "LONG_BINGET";
    case 'c': return "GLOBAL";
    case 0x93: return "STACK_GLOBAL";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'b': return "BUILD";
    case 's': return "SETITEM";
    case 'u': return "SETITEMS";
    case 'a': return "APPEND";
    case 'e': return "APPENDS";
    case 't': return "TUPLE";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'M': return "BININT2";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 'G': return "BINFLOAT";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 'N': return "NONE";
    case 'X': return "BINUNICODE";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    default: return nullptr;
  }
}

class Vm {
 public:
  explicit Vm(const PickleSource& src) : src_(src) {}

  Result<PyValue> run() {
    Obj* root = nullptr;
    Status st = execute(&root);
    if (!st) return st;
    // Size the result first (shared objects counted once per reference, without copying), so
    // reference bombs and cycles are refused before any memory is spent on them.
    std::unordered_map<const Obj*, uint64_t> sizes;
    uint64_t total = 0;
    st = measure(root, 0, &sizes, &total);
    if (!st) return st;
    uint64_t values = 0, bytes = 0;
    PyValue out;
    st = convert(root, 0, &values, &bytes, &out);
    if (!st) return st;
    return out;
  }

 private:
  // ------------------------------------------------------------------ errors and input
  Status fail(const std::string& what) const {
    const char* name = opcode_name(op_);
    std::string op = name != nullptr ? name : "0x" + hex_byte(op_);
    return Status::error("byte " + std::to_string(op_pos_) + ", opcode " + op + ": " + what);
  }
  static std::string hex_byte(uint8_t b) {
    static const char* hex = "0123456789abcdef";
    return std::string{hex[b >> 4], hex[b & 15]};
  }
  Status truncated() const { return fail("pickle data ends inside this opcode (truncated file)"); }

  bool take(uint64_t n, const uint8_t** out) {
    if (!range_fits(pos_, n, src_.size)) return false;
    *out = src_.data + pos_;
    pos_ += n;
    return true;
  }
  bool take_uint(int width, uint64_t* out) {
    const uint8_t* p = nullptr;
    if (!take(static_cast<uint64_t>(width), &p)) return false;
    *out = width == 1 ? p[0] : width == 2 ? load_u16(p) : width == 4 ? load_u32(p) : load_u64(p);
    return true;
  }

  // ------------------------------------------------------------------ objects
  Result<Obj*> make(Kind kind) {
    if (arena_.size() >= kMaxObjects) {
      return fail("more than " + std::to_string(kMaxObjects) + " objects (expected a model-sized pickle)");
    }
    Obj* o = &arena_.emplace_back();  // deque: addresses stay valid as it grows
    o->kind = kind;
    if (kind == Kind::List || kind == Kind::Tuple || kind == Kind::Dict) o->c = std::make_unique<Container>();
    return o;
  }
  Status push(Obj* o) {
    if (stack_.size() >= kMaxStack) return fail("stack deeper than " + std::to_string(kMaxStack) + " entries");
    stack_.push_back(o);
    return Status::ok();
  }
  Status push_new(Kind kind, Obj** out = nullptr) {
    auto r = make(kind);
    if (!r) return r.status();
    if (out != nullptr) *out = r.value();
    return push(r.value());
  }
  // Entries above the innermost MARK.
  size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }
  Status need(size_t n) const {
    if (stack_.size() < frame_base() + n) {
      return fail("needs " + std::to_string(n) + " stack item(s) above the mark, found " +
                  std::to_string(stack_.size() - frame_base()) + " (malformed pickle)");
    }
    return Status::ok();
  }
  Obj* pop() {
    Obj* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Result<size_t> pop_mark() {
    if (marks_.empty()) return fail("no MARK on the stack (malformed pickle)");
    size_t base = marks_.back();
    marks_.pop_back();
    return base;
  }

  Status memo_put(uint64_t index) {
    if (stack_.size() <= frame_base()) return fail("memoizes an empty stack (malformed pickle)");
    if (memo_.size() >= kMaxMemo && memo_.find(index) == memo_.end()) {
      return fail("memo larger than " + std::to_string(kMaxMemo) + " entries");
    }
    memo_[index] = stack_.back();
    return Status::ok();
  }
  Status memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return fail("memo index " + std::to_string(index) + " was never stored (malformed pickle)");
    return push(it->second);
  }

  Status set_item(Obj* dict, Obj* key, Obj* value) {
    if (dict->kind != Kind::Dict) return fail(std::string("SETITEM target is a ") + kind_text(dict->kind) + " (expected a dict)");
    Container& c = *dict->c;
    if (!c.index) c.index = std::make_unique<KeyIndex>();
    if (key->kind == Kind::Str) {
      auto [it, fresh] = c.index->str_keys.emplace(key->s, c.dict.size());
      if (!fresh) {
        c.dict[it->second].second = value;
        return Status::ok();
      }
    } else if (key->kind == Kind::Int) {
      auto [it, fresh] = c.index->int_keys.emplace(key->i, c.dict.size());
      if (!fresh) {
        c.dict[it->second].second = value;
        return Status::ok();
      }
    } else if (key->kind == Kind::List || key->kind == Kind::Dict || key->kind == Kind::Tensor ||
               key->kind == Kind::Global || key->kind == Kind::Storage) {
      return fail(std::string("dict key is a ") + kind_text(key->kind) + " (expected str, int or another hashable value)");
    }
    c.dict.emplace_back(key, value);
    return Status::ok();
  }

  Status make_tuple(size_t base) {
    Obj* t = nullptr;
    auto r = make(Kind::Tuple);
    if (!r) return r.status();
    t = r.value();
    t->c->items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return push(t);
  }

  Status push_string(Kind kind, uint64_t len) {
    const uint8_t* p = nullptr;
    if (!take(len, &p)) return truncated();
    Obj* o = nullptr;
    UCE_TRY(push_new(kind, &o));
    o->s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    return Status::ok();
  }

  Status push_long(uint64_t len) {
    if (len > 8) return fail("integer of " + std::to_string(len) + " bytes (expected at most 8: int64)");
    const uint8_t* p = nullptr;
    if (!take(len, &p)) return truncated();
    uint64_t v = 0;
    for (uint64_t k = 0; k < len; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
    if (len > 0 && len < 8 && (p[len - 1] & 0x80)) v |= ~uint64_t{0} << (8 * len);  // sign-extend
    Obj* o = nullptr;
    UCE_TRY(push_new(Kind::Int, &o));
    std::memcpy(&o->i, &v, sizeof v);
    return Status::ok();
  }

  Status push_global(const std::string& module, const std::string& name) {
    for (const auto& g : kAllowList) {
      if (module == g.module && name == g.name) {
        Obj* o = nullptr;
        UCE_TRY(push_new(Kind::Global, &o));
        o->global = g.kind;
        o->dtype = g.dtype;
        o->s = module + "." + name;
        return Status::ok();
      }
    }
    return fail("global '" + printable(module) + "." + printable(name) + "' is not allowed (expected one of " +
                allow_list_text() + "; a model file never needs anything else)");
  }

  // ------------------------------------------------------------------ calls (allow-listed only)
  static bool is_int(const Obj* o) { return o->kind == Kind::Int; }

  Result<std::vector<int64_t>> int_tuple(const Obj* o, const char* what) const {
    if (o->kind != Kind::Tuple) return fail(std::string(what) + " is a " + kind_text(o->kind) + " (expected a tuple of ints)");
    if (o->c->items.size() > kMaxTensorDims) {
      return fail(std::string(what) + " has " + std::to_string(o->c->items.size()) + " dimensions (expected at most " +
                  std::to_string(kMaxTensorDims) + ")");
    }
    std::vector<int64_t> v;
    for (const Obj* e : o->c->items) {
      if (!is_int(e) || e->i < 0) return fail(std::string(what) + " holds a non-int or negative entry (expected ints >= 0)");
      v.push_back(e->i);
    }
    return v;
  }

  Result<Obj*> rebuild_tensor(const std::vector<Obj*>& a) {
    if (a.size() != 6 && a.size() != 7) {
      return fail("_rebuild_tensor_v2 takes " + std::to_string(a.size()) +
                  " arguments (expected 6 or 7: storage, offset, size, stride, requires_grad, hooks[, metadata])");
    }
    if (a[0]->kind != Kind::Storage) return fail(std::string("_rebuild_tensor_v2 storage is a ") + kind_text(a[0]->kind) + " (expected a persistent storage)");
    if (!is_int(a[1]) || a[1]->i < 0) return fail("_rebuild_tensor_v2 storage_offset is not an int >= 0");
    auto size = int_tuple(a[2], "_rebuild_tensor_v2 size");
    if (!size) return size.status();
    auto stride = int_tuple(a[3], "_rebuild_tensor_v2 stride");
    if (!stride) return stride.status();
    if (size->size() != stride->size()) return fail("_rebuild_tensor_v2 size and stride differ in length (expected equal)");
    if (a[4]->kind != Kind::Bool) return fail("_rebuild_tensor_v2 requires_grad is not a bool");
    if (a[5]->kind != Kind::Dict) return fail("_rebuild_tensor_v2 backward_hooks is not an OrderedDict");
    const StorageRef& st = a[0]->storage;
    const int64_t offset = a[1]->i;
    // Extent: offset + sum((size-1)*stride) + 1 elements must fit the storage (overflow-checked).
    int64_t numel = 1, last = offset;
    bool ok = true;
    for (size_t k = 0; k < size->size(); ++k) ok = ok && mul_i64(numel, (*size)[k], &numel);
    if (ok && numel > 0) {
      for (size_t k = 0; k < size->size(); ++k) {
        int64_t step = 0;
        ok = ok && mul_i64((*size)[k] - 1, (*stride)[k], &step) && add_i64(last, step, &last);
      }
    }
    const bool fits = ok && (numel == 0 ? offset <= st.numel : last < st.numel);
    if (!fits) {
      return fail("tensor (storage_offset " + std::to_string(offset) + ", " + std::to_string(size->size()) +
                  " dims) reaches past its storage of " + std::to_string(st.numel) +
                  " elements (expected offset + max index by strides < storage size)");
    }
    auto r = make(Kind::Tensor);
    if (!r) return r.status();
    Obj* t = r.value();
    t->tensor = std::make_unique<TensorView>();
    t->tensor->dtype = st.dtype;
    t->tensor->shape = std::move(size.value());
    t->tensor->stride = std::move(stride.value());
    t->tensor->data = st.base + offset * dtype_size(st.dtype);
    t->tensor->file = src_.file;
    return t;
  }

  Status reduce() {
    UCE_TRY(need(2));
    Obj* args = pop();
    Obj* callable = pop();
    if (callable->kind != Kind::Global) return fail(std::string("REDUCE calls a ") + kind_text(callable->kind) + " (expected an allow-listed global)");
    if (args->kind != Kind::Tuple) return fail(std::string("REDUCE arguments are a ") + kind_text(args->kind) + " (expected a tuple)");
    const std::vector<Obj*>& a = args->c->items;
    switch (callable->global) {
      case Global::OrderedDict:
        if (!a.empty()) return fail("OrderedDict called with arguments (expected OrderedDict() then SETITEMS)");
        return push_new(Kind::Dict);
      case Global::RebuildTensorV2: {
        auto t = rebuild_tensor(a);
        if (!t) return t.status();
        return push(t.value());
      }
      case Global::RebuildParameter:
        if (a.size() != 3 || a[0]->kind != Kind::Tensor || a[1]->kind != Kind::Bool || a[2]->kind != Kind::Dict) {
          return fail("_rebuild_parameter arguments are wrong (expected (tensor, requires_grad, OrderedDict))");
        }
        return push(a[0]);
      case Global::Storage:
        break;
    }
    return fail("'" + callable->s + "' is not callable here (expected it only inside a persistent id)");
  }

  Status build() {
    UCE_TRY(need(2));
    Obj* state = pop();
    Obj* target = stack_.back();
    // An OrderedDict state dict carries attributes (its `_metadata`): Python stores them in
    // __dict__, they are not items, so they are dropped here.
    if (target->kind == Kind::Dict && (state->kind == Kind::Dict || state->kind == Kind::Tuple || state->kind == Kind::None)) {
      return Status::ok();
    }
    return fail(std::string("BUILD on a ") + kind_text(target->kind) + " with a " + kind_text(state->kind) +
                " state (expected only OrderedDict attributes)");
  }

  Status persistent_id() {
    UCE_TRY(need(1));
    Obj* pid = pop();
    if (src_.persistent_load == nullptr) {
      return fail("persistent id in a plain pickle (expected no tensors in this file)");
    }
    const auto* items = pid->kind == Kind::Tuple ? &pid->c->items : nullptr;
    if (items == nullptr || items->size() != 5 || (*items)[0]->kind != Kind::Str || (*items)[0]->s != "storage" ||
        (*items)[1]->kind != Kind::Global || (*items)[1]->global != Global::Storage || (*items)[2]->kind != Kind::Str ||
        (*items)[3]->kind != Kind::Str || !is_int((*items)[4]) || (*items)[4]->i < 0) {
      return fail("persistent id is not ('storage', <torch storage class>, key, location, numel)");
    }
    auto ref = (*src_.persistent_load)((*items)[1]->dtype, (*items)[2]->s, (*items)[4]->i);
    if (!ref) return fail(ref.message());
    Obj* o = nullptr;
    UCE_TRY(push_new(Kind::Storage, &o));
    o->storage = ref.value();
    return Status::ok();
  }

  // ------------------------------------------------------------------ the loop
  Status execute(Obj** root) {
    while (true) {
      op_pos_ = pos_;
      const uint8_t* p = nullptr;
      if (!take(1, &p)) {
        op_ = 0;
        return Status::error("byte " + std::to_string(pos_) + ": pickle ends without STOP (truncated file)");
      }
      op_ = *p;
      uint64_t n = 0;
      switch (op_) {
        case 0x80:  // PROTO
          if (!take_uint(1, &n)) return truncated();
          if (n > 5) return fail("protocol " + std::to_string(n) + " (expected 2 to 5)");
          break;
        case 0x95:  // FRAME: a length prefix only; the opcodes inside run as usual
          if (!take_uint(8, &n)) return truncated();
          if (!range_fits(pos_, n, src_.size)) return fail("frame of " + std::to_string(n) + " bytes runs past the end (truncated file)");
          break;
        case '.':  // STOP
          if (stack_.empty()) return fail("STOP with an empty stack (malformed pickle)");
          *root = stack_.back();
          return Status::ok();
        case '(':  // MARK
          if (marks_.size() >= kMaxMarks) return fail("more than " + std::to_string(kMaxMarks) + " nested MARKs");
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP
          UCE_TRY(need(1));
          stack_.pop_back();
          break;
        case '1': {  // POP_MARK
          auto base = pop_mark();
          if (!base) return base.status();
          stack_.resize(base.value());
          break;
        }
        case '2':  // DUP
          UCE_TRY(need(1));
          UCE_TRY(push(stack_.back()));
          break;
        case '}': UCE_TRY(push_new(Kind::Dict)); break;
        case ']': UCE_TRY(push_new(Kind::List)); break;
        case ')': UCE_TRY(push_new(Kind::Tuple)); break;
        case 'N': UCE_TRY(push_new(Kind::None)); break;
        case 0x88:
        case 0x89: {
          Obj* o = nullptr;
          UCE_TRY(push_new(Kind::Bool, &o));
          o->i = op_ == 0x88 ? 1 : 0;
          break;
        }
        case 'q':
          if (!take_uint(1, &n)) return truncated();
          UCE_TRY(memo_put(n));
          break;
        case 'r':
          if (!take_uint(4, &n)) return truncated();
          UCE_TRY(memo_put(n));
          break;
        case 0x94: UCE_TRY(memo_put(memo_.size())); break;
        case 'h':
          if (!take_uint(1, &n)) return truncated();
          UCE_TRY(memo_get(n));
          break;
        case 'j':
          if (!take_uint(4, &n)) return truncated();
          UCE_TRY(memo_get(n));
          break;
        case 'c': {  // GLOBAL "module\nname\n"
          std::string parts[2];
          for (auto& part : parts) {
            const uint8_t* start = src_.data + pos_;
            const uint64_t left = src_.size - pos_;
            if (left == 0) return truncated();
            const void* nl = std::memchr(start, '\n', static_cast<size_t>(std::min<uint64_t>(left, 256)));
            if (nl == nullptr) return fail("global name without a newline in 256 bytes (truncated or malformed)");
            const auto len = static_cast<uint64_t>(static_cast<const uint8_t*>(nl) - start);
            part.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(len));
            pos_ += len + 1;
          }
          UCE_TRY(push_global(parts[0], parts[1]));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          UCE_TRY(need(2));
          Obj* name = pop();
          Obj* module = pop();
          if (module->kind != Kind::Str || name->kind != Kind::Str) return fail("STACK_GLOBAL needs two strings");
          UCE_TRY(push_global(module->s, name->s));
          break;
        }
        case 'Q': UCE_TRY(persistent_id()); break;
        case 'R': UCE_TRY(reduce()); break;
        case 'b': UCE_TRY(build()); break;
        case 's': {
          UCE_TRY(need(3));
          Obj* value = pop();
          Obj* key = pop();
          UCE_TRY(set_item(stack_.back(), key, value));
          break;
        }
        case 'u': {
          auto base = pop_mark();
          if (!base) return base.status();
          const size_t b = base.value();
          if (b <= frame_base() || b > stack_.size() || (stack_.size() - b) % 2 != 0) return fail("SETITEMS needs a dict below the MARK and key/value pairs above it");
          Obj* dict = stack_[b - 1];
          for (size_t k = b; k < stack_.size(); k += 2) UCE_TRY(set_item(dict, stack_[k], stack_[k + 1]));
          stack_.resize(b);
          break;
        }
        case 'a': {
          UCE_TRY(need(2));
          Obj* value = pop();
          Obj* list = stack_.back();
          if (list->kind != Kind::List) return fail(std::string("APPEND to a ") + kind_text(list->kind) + " (expected a list)");
          list->c->items.push_back(value);
          break;
        }
        case 'e': {
          auto base = pop_mark();
          if (!base) return base.status();
          const size_t b = base.value();
          if (b <= frame_base() || b > stack_.size() || stack_[b - 1]->kind != Kind::List) return fail("APPENDS needs a list below the MARK");
          Obj* list = stack_[b - 1];
          list->c->items.insert(list->c->items.end(), stack_.begin() + static_cast<std::ptrdiff_t>(b), stack_.end());
          stack_.resize(b);
          break;
        }
        case 't': {
          auto base = pop_mark();
          if (!base) return base.status();
          if (base.value() > stack_.size()) return fail("MARK above the stack (malformed pickle)");
          UCE_TRY(make_tuple(base.value()));
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          const size_t count = static_cast<size_t>(op_ - 0x84);
          UCE_TRY(need(count));
          UCE_TRY(make_tuple(stack_.size() - count));
          break;
        }
        case 'J':
        case 'K':
        case 'M': {
          const int width = op_ == 'J' ? 4 : op_ == 'K' ? 1 : 2;
          if (!take_uint(width, &n)) return truncated();
          Obj* o = nullptr;
          UCE_TRY(push_new(Kind::Int, &o));
          o->i = width == 4 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(n))) : static_cast<int64_t>(n);
          break;
        }
        case 0x8a:
          if (!take_uint(1, &n)) return truncated();
          UCE_TRY(push_long(n));
          break;
        case 0x8b:
          if (!take_uint(4, &n)) return truncated();
          UCE_TRY(push_long(n));
          break;
        case 'G': {  // big-endian IEEE double
          const uint8_t* b = nullptr;
          if (!take(8, &b)) return truncated();
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
          Obj* o = nullptr;
          UCE_TRY(push_new(Kind::Float, &o));
          std::memcpy(&o->f, &bits, sizeof bits);
          break;
        }
        case 0x8c:  // SHORT_BINUNICODE
        case 'U':   // SHORT_BINSTRING (Python 3 loads it as str)
          if (!take_uint(1, &n)) return truncated();
          UCE_TRY(push_string(Kind::Str, n));
          break;
        case 'X':
        case 'T':
          if (!take_uint(4, &n)) return truncated();
          UCE_TRY(push_string(Kind::Str, n));
          break;
        case 0x8d:
          if (!take_uint(8, &n)) return truncated();
          UCE_TRY(push_string(Kind::Str, n));
          break;
        case 'C':
          if (!take_uint(1, &n)) return truncated();
          UCE_TRY(push_string(Kind::Bytes, n));
          break;
        case 'B':
          if (!take_uint(4, &n)) return truncated();
          UCE_TRY(push_string(Kind::Bytes, n));
          break;
        case 0x8e:
          if (!take_uint(8, &n)) return truncated();
          UCE_TRY(push_string(Kind::Bytes, n));
          break;
        default:
          return fail("unsupported opcode 0x" + hex_byte(op_) +
                      " (expected only the opcodes torch.save and plain dict pickles use)");
      }
    }
  }

  // ------------------------------------------------------------------ result
  // Values the converted result would hold below `o` (saturating past the limit). A cycle shows
  // up as unbounded depth.
  Status measure(const Obj* o, int depth, std::unordered_map<const Obj*, uint64_t>* sizes, uint64_t* out) const {
    if (depth > kMaxDepth) return Status::error("result nested deeper than " + std::to_string(kMaxDepth) + " levels (cyclic or hostile pickle)");
    if (!o->c) {
      *out = 1;
      return Status::ok();
    }
    if (auto it = sizes->find(o); it != sizes->end()) {
      *out = it->second;
      return Status::ok();
    }
    uint64_t n = 1;
    auto add = [&](const Obj* child) -> Status {
      uint64_t m = 0;
      UCE_TRY(measure(child, depth + 1, sizes, &m));
      n = std::min<uint64_t>(n + m, kMaxResultValues + 1);
      return Status::ok();
    };
    for (const Obj* item : o->c->items) UCE_TRY(add(item));
    for (const auto& [k, v] : o->c->dict) {
      UCE_TRY(add(k));
      UCE_TRY(add(v));
    }
    if (n > kMaxResultValues) {
      return Status::error("result has more than " + std::to_string(kMaxResultValues) + " values (hostile pickle?)");
    }
    (*sizes)[o] = n;
    *out = n;
    return Status::ok();
  }

  Status convert(const Obj* o, int depth, uint64_t* values, uint64_t* bytes, PyValue* out) const {
    if (depth > kMaxDepth) return Status::error("result nested deeper than " + std::to_string(kMaxDepth) + " levels (cyclic or hostile pickle)");
    if (++*values > kMaxResultValues) return Status::error("result has more than " + std::to_string(kMaxResultValues) + " values (hostile pickle?)");
    switch (o->kind) {
      case Kind::None: out->kind = PyValue::Kind::None; return Status::ok();
      case Kind::Bool: out->kind = PyValue::Kind::Bool; out->b = o->i != 0; return Status::ok();
      case Kind::Int: out->kind = PyValue::Kind::Int; out->i = o->i; return Status::ok();
      case Kind::Float: out->kind = PyValue::Kind::Float; out->f = o->f; return Status::ok();
      case Kind::Str:
      case Kind::Bytes:
        *bytes += o->s.size();
        if (*bytes > kMaxResultBytes) return Status::error("result holds more than 256 MiB of strings (hostile pickle?)");
        out->kind = o->kind == Kind::Str ? PyValue::Kind::Str : PyValue::Kind::Bytes;
        out->s = o->s;
        return Status::ok();
      case Kind::List:
      case Kind::Tuple:
        out->kind = o->kind == Kind::List ? PyValue::Kind::List : PyValue::Kind::Tuple;
        out->items.resize(o->c->items.size());
        for (size_t k = 0; k < o->c->items.size(); ++k) UCE_TRY(convert(o->c->items[k], depth + 1, values, bytes, &out->items[k]));
        return Status::ok();
      case Kind::Dict:
        out->kind = PyValue::Kind::Dict;
        out->dict.resize(o->c->dict.size());
        for (size_t k = 0; k < o->c->dict.size(); ++k) {
          UCE_TRY(convert(o->c->dict[k].first, depth + 1, values, bytes, &out->dict[k].first));
          UCE_TRY(convert(o->c->dict[k].second, depth + 1, values, bytes, &out->dict[k].second));
        }
        return Status::ok();
      case Kind::Tensor: out->kind = PyValue::Kind::Tensor; out->tensor = *o->tensor; return Status::ok();
      case Kind::Global:
      case Kind::Storage: break;
    }
    return Status::error(std::string("result holds a bare ") + kind_text(o->kind) + " (expected only data and tensors)");
  }

  const PickleSource& src_;
  uint64_t pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  std::deque<Obj> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
};

}  // namespace

Result<PyValue> unpickle(const PickleSource& source) {
  try {
    Vm vm(source);
    return vm.run();
  } catch (const std::bad_alloc&) {
    return Result<PyValue>::error("out of memory while unpickling (hostile or huge pickle)");
  }
}

}  // namespace uce::io::detail
