#include "tests/unit/policy/bpf_interpreter.h"

#include <linux/seccomp.h>

#include <cstring>
#include <string>

namespace bulwark::policy::testing {

namespace {

std::string describe(size_t pc, const sock_filter& insn) {
  return "instruction " + std::to_string(pc) + " (code " + std::to_string(insn.code) + ")";
}

Result<uint32_t> alu(uint16_t op, uint32_t a, uint32_t operand) {
  switch (op) {
    case BPF_ADD: return a + operand;
    case BPF_SUB: return a - operand;
    case BPF_MUL: return a * operand;
    case BPF_DIV: if (operand == 0) return Error("division by zero"); return a / operand;
    case BPF_MOD: if (operand == 0) return Error("division by zero"); return a % operand;
    case BPF_OR: return a | operand;
    case BPF_AND: return a & operand;
    case BPF_XOR: return a ^ operand;
    case BPF_LSH: return operand >= 32 ? 0u : a << operand;
    case BPF_RSH: return operand >= 32 ? 0u : a >> operand;
    case BPF_NEG: return 0u - a;
    default: return Error("unknown ALU operation");
  }
}

}  // namespace

Result<uint32_t> run_seccomp_program(std::span<const sock_filter> program,
                                     const SeccompCall& call) {
  seccomp_data data{};
  data.nr = call.nr;
  data.arch = call.arch;
  for (size_t i = 0; i < call.args.size(); ++i) data.args[i] = call.args[i];
  uint8_t bytes[sizeof(data)];
  std::memcpy(bytes, &data, sizeof(data));

  uint32_t a = 0;
  uint32_t x = 0;
  uint32_t scratch[BPF_MEMWORDS] = {};
  size_t pc = 0;
  while (pc < program.size()) {
    const sock_filter& insn = program[pc];
    const uint16_t code = insn.code;
    size_t next = pc + 1;
    switch (BPF_CLASS(code)) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t value = 0;
        if (BPF_MODE(code) == BPF_ABS && BPF_SIZE(code) == BPF_W) {
          if (insn.k % 4 != 0 || insn.k + 4 > sizeof(bytes)) {
            return Error(describe(pc, insn) + ": load outside seccomp_data");
          }
          std::memcpy(&value, bytes + insn.k, 4);
        } else if (BPF_MODE(code) == BPF_IMM) {
          value = insn.k;
        } else if (BPF_MODE(code) == BPF_MEM) {
          if (insn.k >= BPF_MEMWORDS) return Error(describe(pc, insn) + ": bad scratch slot");
          value = scratch[insn.k];
        } else if (BPF_MODE(code) == BPF_LEN) {
          value = sizeof(bytes);
        } else {
          return Error(describe(pc, insn) + ": load mode not allowed in seccomp");
        }
        (BPF_CLASS(code) == BPF_LD ? a : x) = value;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (insn.k >= BPF_MEMWORDS) return Error(describe(pc, insn) + ": bad scratch slot");
        scratch[insn.k] = BPF_CLASS(code) == BPF_ST ? a : x;
        break;
      case BPF_ALU: {
        const uint32_t operand = BPF_SRC(code) == BPF_X ? x : insn.k;
        Result<uint32_t> result = alu(BPF_OP(code), a, operand);
        if (!result.ok()) return result.error().wrap(describe(pc, insn));
        a = *result;
        break;
      }
      case BPF_JMP: {
        if (BPF_OP(code) == BPF_JA) {
          next = pc + 1 + insn.k;
        } else {
          const uint32_t operand = BPF_SRC(code) == BPF_X ? x : insn.k;
          bool taken;
          switch (BPF_OP(code)) {
            case BPF_JEQ: taken = a == operand; break;
            case BPF_JGT: taken = a > operand; break;
            case BPF_JGE: taken = a >= operand; break;
            case BPF_JSET: taken = (a & operand) != 0; break;
            default: return Error(describe(pc, insn) + ": unknown jump");
          }
          next = pc + 1 + (taken ? insn.jt : insn.jf);
        }
        if (next >= program.size()) return Error(describe(pc, insn) + ": jump past the end");
        break;
      }
      case BPF_RET:
        if (BPF_RVAL(code) == BPF_K) return insn.k;
        if (BPF_RVAL(code) == BPF_A) return a;
        return Error(describe(pc, insn) + ": bad return source");
      case BPF_MISC:
        if (BPF_MISCOP(code) == BPF_TAX) {
          x = a;
        } else if (BPF_MISCOP(code) == BPF_TXA) {
          a = x;
        } else {
          return Error(describe(pc, insn) + ": unknown misc operation");
        }
        break;
      default:
        return Error(describe(pc, insn) + ": unknown instruction class");
    }
    pc = next;
  }
  return Error("the program ran off its end without returning");
}

}  // namespace bulwark::policy::testing
