#!/usr/bin/env python3
"""Rewrites a SPIR-V module that uses SPV_NV_cooperative_matrix into one that uses
SPV_KHR_cooperative_matrix, at build time.

Why: Debian 12's glslang (12.0) compiles GL_NV_cooperative_matrix but not GL_KHR_cooperative_matrix,
the vendor-neutral extension (AMD and Intel GPUs expose only KHR; on the H100 the KHR shaders run
~7% faster than the NV ones). The two extensions have the same instructions with three
differences, all handled here:
  - OpTypeCooperativeMatrixKHR carries a Use (MatrixA, MatrixB, Accumulator). It is read off the
    multiply-adds: the type of each A operand becomes MatrixA, of each B operand MatrixB, of C and of
    the result Accumulator. A type used in two roles cannot be rewritten (the shader must give each
    role its own type: e.g. the 16x8x16 shape with f32 accumulators: A f16 16x16, B f16 16x8,
    C f32 16x8) and is reported as an error; a type in no multiply-add is an Accumulator if its
    components are 32-bit floats and an error otherwise.
  - Loads and stores take a MemoryLayout <id> (an integer constant, 0 row-major, 1 column-major)
    before the stride instead of a ColumnMajor boolean after it.
  - New opcodes, capability and extension name.
Every other instruction is copied as it is. The input is validated as far as this rewrite needs
(header, instruction lengths, the ids it looks up); anything unexpected is an error, exit status 2.

usage: coopmat_nv_to_khr.py IN.spv OUT.spv
"""
import struct
import sys

MAGIC = 0x07230203

OP_EXTENSION, OP_CAPABILITY = 10, 17
OP_TYPE_INT, OP_TYPE_FLOAT = 21, 22
OP_CONSTANT_TRUE, OP_CONSTANT_FALSE, OP_CONSTANT = 41, 42, 43

NV_TYPE, NV_LOAD, NV_STORE, NV_MULADD, NV_LENGTH = 5358, 5359, 5360, 5361, 5362
KHR_TYPE, KHR_LOAD, KHR_STORE, KHR_MULADD, KHR_LENGTH = 4456, 4457, 4458, 4459, 4460
CAP_NV, CAP_KHR = 5357, 6022
USE_A, USE_B, USE_ACC = 0, 1, 2
USE_NAMES = {USE_A: "MatrixA", USE_B: "MatrixB", USE_ACC: "Accumulator"}

# Value-producing instructions laid out as (result type, result id, ...): the ones a cooperative
# matrix value can come from in a compute shader. The A/B/C operands of a multiply-add must be
# defined by one of these, so their types can be found.
TYPED_VALUE_OPS = {
    1,     # OpUndef
    44,    # OpConstantComposite
    46,    # OpConstantNull
    61,    # OpLoad
    80,    # OpCompositeConstruct
    81,    # OpCompositeExtract
    82,    # OpCompositeInsert
    83,    # OpCopyObject
    115,   # OpFConvert
    127,   # OpFNegate
    129,   # OpFAdd
    131,   # OpFSub
    133,   # OpFMul
    136,   # OpFDiv
    143,   # OpMatrixTimesScalar
    169,   # OpSelect
    245,   # OpPhi
    NV_LOAD,
    NV_MULADD,
}


class RewriteError(Exception):
    pass


def parse(words):
    """Splits the module body into [opcode, operands] pairs, checking every length."""
    if len(words) < 5 or words[0] != MAGIC:
        raise RewriteError("not a SPIR-V module (magic number)")
    insts, i = [], 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        if count == 0 or i + count > len(words):
            raise RewriteError(f"instruction at word {i} (opcode {opcode}) has length {count}, past the end")
        insts.append([opcode, list(words[i + 1:i + count])])
        i += count
    return insts


def encode_string(text):
    raw = text.encode() + b"\0"
    raw += b"\0" * (-len(raw) % 4)
    return list(struct.unpack(f"<{len(raw) // 4}I", raw))


def decode_string(operands):
    raw = struct.pack(f"<{len(operands)}I", *operands)
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def infer_uses(insts):
    """Maps each NV cooperative-matrix type id to its KHR Use, from the multiply-adds."""
    nv_types = {ops[0]: ops for op, ops in insts if op == NV_TYPE}
    value_type = {ops[1]: ops[0] for op, ops in insts if op in TYPED_VALUE_OPS and len(ops) >= 2}
    float_width = {ops[0]: ops[1] for op, ops in insts if op == OP_TYPE_FLOAT}
    uses = {}

    def assign(type_id, use, what):
        if type_id not in nv_types:
            raise RewriteError(f"multiply-add {what} has type %{type_id}, not a cooperative matrix type")
        if uses.setdefault(type_id, use) != use:
            raise RewriteError(f"cooperative matrix type %{type_id} is used both as {USE_NAMES[uses[type_id]]} "
                               f"and as {USE_NAMES[use]}: give each role its own type")

    for op, ops in insts:
        if op != NV_MULADD:
            continue
        if len(ops) != 5:
            raise RewriteError(f"OpCooperativeMatrixMulAddNV %{ops[1] if len(ops) > 1 else '?'} has {len(ops)} operands, expected 5")
        result_type, result, a, b, c = ops
        for value, use, what in ((a, USE_A, "A"), (b, USE_B, "B"), (c, USE_ACC, "C")):
            if value not in value_type:
                raise RewriteError(f"multiply-add %{result}: operand {what} %{value} has no definition this tool knows")
            assign(value_type[value], use, what)
        assign(result_type, USE_ACC, "result")
    for type_id, ops in nv_types.items():
        if type_id in uses:
            continue
        if float_width.get(ops[1]) == 32:
            uses[type_id] = USE_ACC  # f32 matrices outside multiply-adds: conversions of accumulators
        else:
            raise RewriteError(f"cooperative matrix type %{type_id} is in no multiply-add and not f32: its Use is unknown")
    return uses


def rewrite(words):
    insts = parse(words)
    bound = words[3]
    uses = infer_uses(insts)

    uint_type = next((ops[0] for op, ops in insts if op == OP_TYPE_INT and ops[1:] == [32, 0]), None)
    if uint_type is None and uses:
        raise RewriteError("no 32-bit unsigned integer type to make the Use/MemoryLayout constants from")
    bools = {ops[1]: 1 for op, ops in insts if op == OP_CONSTANT_TRUE}
    bools.update({ops[1]: 0 for op, ops in insts if op == OP_CONSTANT_FALSE})

    # Integer constants for Use (0, 1, 2) and MemoryLayout (0 row-major, 1 column-major), inserted
    # just before the first cooperative-matrix type (after the integer type they need).
    constant_of = {}
    new_constants = []
    for value in sorted(set(uses.values()) | {0, 1}):
        constant_of[value] = bound
        new_constants.append([OP_CONSTANT, [uint_type, bound, value]])
        bound += 1

    def layout(column_major_id, where):
        if column_major_id not in bools:
            raise RewriteError(f"{where}: ColumnMajor %{column_major_id} is not an OpConstantTrue/False")
        return constant_of[bools[column_major_id]]

    out, inserted = [], False
    for op, ops in insts:
        if op == OP_CAPABILITY and ops == [CAP_NV]:
            out.append([OP_CAPABILITY, [CAP_KHR]])
        elif op == OP_EXTENSION and decode_string(ops) == "SPV_NV_cooperative_matrix":
            out.append([OP_EXTENSION, encode_string("SPV_KHR_cooperative_matrix")])
        elif op == NV_TYPE:
            if len(ops) != 5:
                raise RewriteError(f"OpTypeCooperativeMatrixNV %{ops[0]} has {len(ops)} operands, expected 5")
            if not inserted:
                out.extend(new_constants)
                inserted = True
            out.append([KHR_TYPE, ops + [constant_of[uses[ops[0]]]]])
        elif op == NV_LOAD:
            if len(ops) < 5:
                raise RewriteError(f"OpCooperativeMatrixLoadNV has {len(ops)} operands, expected at least 5")
            rt, res, ptr, stride, column_major, *memory = ops
            out.append([KHR_LOAD, [rt, res, ptr, layout(column_major, f"load %{res}"), stride] + memory])
        elif op == NV_STORE:
            if len(ops) < 4:
                raise RewriteError(f"OpCooperativeMatrixStoreNV has {len(ops)} operands, expected at least 4")
            ptr, obj, stride, column_major, *memory = ops
            out.append([KHR_STORE, [ptr, obj, layout(column_major, f"store of %{obj}"), stride] + memory])
        elif op == NV_MULADD:
            out.append([KHR_MULADD, ops])
        elif op == NV_LENGTH:
            out.append([KHR_LENGTH, ops])
        else:
            out.append([op, ops])

    result = words[:5]
    result[3] = bound
    for op, ops in out:
        result.append(((len(ops) + 1) << 16) | op)
        result.extend(ops)
    return result


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        with open(src, "rb") as f:
            data = f.read()
        if len(data) % 4:
            raise RewriteError(f"length {len(data)} is not a multiple of 4")
        words = list(struct.unpack(f"<{len(data) // 4}I", data))
        khr = rewrite(words)
    except (OSError, RewriteError) as e:
        print(f"{src}: cannot rewrite to KHR cooperative matrices: {e}", file=sys.stderr)
        return 2
    with open(dst, "wb") as f:
        f.write(struct.pack(f"<{len(khr)}I", *khr))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
