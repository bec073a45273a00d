// Hostile pickles: forbidden globals, unknown opcodes, malformed streams, memory bombs. The VM
// must refuse with a one-line error naming the file, the opcode/global and its byte offset.
#include <gtest/gtest.h>

#include "io_test_support.hpp"

using namespace io_test;

namespace {
std::string plain(const std::string& name, const std::string& pickle) { return write_temp(name, to_bytes(pickle)); }
auto read(const std::string& path) { return uce::io::read_pickle_file(path); }
}  // namespace

TEST(HostilePickle, OsSystemGlobalIsRefused) {
  Pickle p;
  p.proto(2).global("os", "system").str("echo pwned").op(0x85).op('R').stop();
  const auto path = plain("os_system.pkl", p.b);
  EXPECT_TRUE(is_error(read(path), path, "byte 2, opcode GLOBAL: global 'os.system' is not allowed"));
  // The same inside a torch archive names the pickle entry too.
  const auto zip = write_temp("os_system.pt", make_zip({{"evil/data.pkl", p.b}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(zip), zip, "evil/data.pkl byte 2, opcode GLOBAL: global 'os.system'"));
}

TEST(HostilePickle, BuiltinsEvalThroughStackGlobalIsRefused) {
  // PROTO 4, SHORT_BINUNICODE "builtins", SHORT_BINUNICODE "eval", STACK_GLOBAL at byte 18.
  Pickle p;
  p.proto(4).op(0x8c).op(8).raw("builtins").op(0x8c).op(4).raw("eval").op(0x93);
  p.op(0x8c).op(5).raw("1+1+1").op(0x85).op('R').stop();
  const auto path = plain("eval.pkl", p.b);
  EXPECT_TRUE(is_error(read(path), path, "byte 18, opcode STACK_GLOBAL: global 'builtins.eval' is not allowed"));
}

TEST(HostilePickle, OtherTorchGlobalsAreRefused) {
  Pickle p;
  p.proto(2).global("torch.storage", "_load_from_bytes").stop();
  auto path = plain("load_from_bytes.pkl", p.b);
  EXPECT_TRUE(is_error(read(path), path, "'torch.storage._load_from_bytes' is not allowed"));
  Pickle bools;
  bools.proto(2).tensor_1d("BoolStorage", "0", 4, 0, 4, 1).stop();
  path = write_temp("bool_storage.pt", make_zip({{"a/data.pkl", bools.b}, {"a/data/0", "abcd"}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "'torch.BoolStorage' is not allowed"));
  Pickle codecs;  // protocol-2 bytes go through _codecs.encode: refused, never guessed
  codecs.proto(2).global("_codecs", "encode").str("x").str("latin1").op(0x86).op('R').stop();
  path = plain("codecs.pkl", codecs.b);
  EXPECT_TRUE(is_error(read(path), path, "'_codecs.encode' is not allowed"));
}

TEST(HostilePickle, UnknownOpcodes) {
  auto path = plain("op_ff.pkl", std::string("\x80\x02\xff.", 4));
  EXPECT_TRUE(is_error(read(path), path, "byte 2, opcode 0xff: unsupported opcode 0xff"));
  path = plain("op_inst.pkl", "\x80\x02ios\nsystem\n.");  // protocol-0 INST
  EXPECT_TRUE(is_error(read(path), path, "unsupported opcode 0x69"));
  path = plain("op_bad_proto.pkl", std::string("\x80\x09N.", 4));
  EXPECT_TRUE(is_error(read(path), path, "protocol 9 (expected 2 to 5)"));
}

TEST(HostilePickle, PersistentIdInPlainPickle) {
  Pickle p;
  p.proto(2).tensor_1d("FloatStorage", "0", 4, 0, 4, 1).stop();
  const auto path = plain("persid.pkl", p.b);
  EXPECT_TRUE(is_error(read(path), path, "persistent id in a plain pickle"));
}

TEST(HostilePickle, MalformedStreams) {
  struct Case { const char* name; std::string bytes; const char* cause; };
  const std::vector<Case> cases = {
      {"empty", "", "ends without STOP"},
      {"no_stop", "\x80\x02N", "ends without STOP"},
      {"memo_missing", "\x80\x02h\x05.", "memo index 5 was never stored"},
      {"huge_string", std::string("\x80\x02X\xff\xff\xff\xff", 7), "truncated"},
      {"long1_9", std::string("\x80\x02\x8a\x09", 4) + std::string(9, '\x01') + ".", "integer of 9 bytes"},
      {"append_empty", "\x80\x02" "a.", "needs 2 stack item(s)"},
      {"setitems_nomark", "\x80\x02}u.", "no MARK"},
      {"reduce_tuple", "\x80\x02))R.", "REDUCE calls a tuple"},
      {"setitem_list", "\x80\x02]KaKbs.", "SETITEM target is a list"},
      {"list_key", "\x80\x02}]K\x01s.", "dict key is a list"},
      {"stop_empty", "\x80\x02.", "STOP with an empty stack"},
      {"frame_past_end", std::string("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", 13), "frame of 255 bytes"},
      {"global_no_newline", "\x80\x02" "cos", "without a newline"},
      {"bare_global", "\x80\x02" "ccollections\nOrderedDict\n.", "bare global"},
      {"ordered_dict_args", "\x80\x02" "ccollections\nOrderedDict\nK\x01\x85R.", "OrderedDict called with arguments"},
      {"build_on_int", "\x80\x02K\x01}b.", "BUILD on a int"},
      {"appends_on_dict", "\x80\x02}(K\x01" "e.", "APPENDS needs a list"},
      {"pop_below_mark", "\x80\x02N(0.", "needs 1 stack item(s) above the mark"},
  };
  for (const auto& c : cases) {
    const auto path = plain(std::string(c.name) + ".pkl", c.bytes);
    EXPECT_TRUE(is_error(read(path), path, c.cause)) << c.name;
  }
}

TEST(HostilePickle, CyclesAndDeepNestingAreBounded) {
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND: a list containing itself.
  auto path = plain("cycle.pkl", std::string("\x80\x02]q\x00h\x00" "a.", 9));
  EXPECT_TRUE(is_error(read(path), path, "nested deeper than"));
  // 5000 nested lists.
  std::string deep = "\x80\x02" + std::string(5000, ']') + std::string(4999, 'a') + ".";
  path = plain("deep.pkl", deep);
  EXPECT_TRUE(is_error(read(path), path, "nested deeper than"));
  // Shared references multiply: l = [x, x], x = [y, y], ... 40 levels -> 2^40 values if copied.
  std::string bomb = "\x80\x02N";
  for (int k = 0; k < 40; ++k) bomb += "2" "\x86";  // DUP, TUPLE2
  bomb += ".";
  path = plain("bomb.pkl", bomb);
  EXPECT_TRUE(is_error(read(path), path, "more than"));
  // Too many nested MARKs.
  path = plain("marks.pkl", "\x80\x02" + std::string(70000, '(') + ".");
  EXPECT_TRUE(is_error(read(path), path, "nested MARKs"));
}

TEST(HostilePickle, WrongRebuildArguments) {
  Pickle p;  // _rebuild_tensor_v2 with a plain int as storage
  p.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().int1(1).int1(0).op(')').op(')').op(0x89).op('}').tuple().op('R').stop();
  auto path = write_temp("rebuild_args.pt", make_zip({{"a/data.pkl", p.b}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "storage is a int (expected a persistent storage)"));
  Pickle bad_pid;  // persistent id that is not a storage tuple
  bad_pid.proto(2).str("storage").op('Q').stop();
  path = write_temp("bad_pid.pt", make_zip({{"a/data.pkl", bad_pid.b}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "persistent id is not ('storage'"));
  Pickle storage_call;  // calling a storage class
  storage_call.proto(2).global("torch", "FloatStorage").op(')').op('R').stop();
  path = write_temp("storage_call.pt", make_zip({{"a/data.pkl", storage_call.b}}));
  EXPECT_TRUE(is_error(uce::io::read_torch_file(path), path, "'torch.FloatStorage' is not callable here"));
}
