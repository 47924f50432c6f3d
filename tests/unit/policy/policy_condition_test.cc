// Every comparison form and value form a condition can take.
#include "policy/seccomp_policy/policy_condition.h"

#include <gtest/gtest.h>

#include <sys/mman.h>

namespace bulwark::policy {
namespace {

ArgComparison single(std::string_view text) {
  Result<std::vector<ComparisonClause>> clauses = parse_condition(text);
  EXPECT_TRUE(clauses.ok()) << text << ": " << clauses.error().message();
  if (!clauses.ok() || clauses->size() != 1 || clauses->at(0).size() != 1) {
    ADD_FAILURE() << text << " is not a single comparison";
    return {};
  }
  return clauses->at(0).at(0);
}

uint64_t value_of(std::string_view text) {
  Result<uint64_t> value = parse_value_expression(text);
  EXPECT_TRUE(value.ok()) << text << ": " << value.error().message();
  return value.ok() ? *value : 0xdeadbeef;
}

TEST(PolicyCondition, EveryOperator) {
  struct Case {
    const char* text;
    CompareOp op;
  };
  for (const Case& c : {Case{"arg0 == 7", CompareOp::kEq}, Case{"arg0 != 7", CompareOp::kNe},
                        Case{"arg0 < 7", CompareOp::kLt}, Case{"arg0 <= 7", CompareOp::kLe},
                        Case{"arg0 > 7", CompareOp::kGt}, Case{"arg0 >= 7", CompareOp::kGe}}) {
    const ArgComparison comparison = single(c.text);
    EXPECT_EQ(comparison.op, c.op) << c.text;
    EXPECT_EQ(comparison.arg, 0u) << c.text;
    EXPECT_EQ(comparison.value, 7u) << c.text;
    EXPECT_EQ(comparison.mask, ~uint64_t{0}) << c.text;
    EXPECT_EQ(comparison.text, c.text);
  }
}

TEST(PolicyCondition, EveryArgumentIndex) {
  for (unsigned i = 0; i <= 5; ++i) {
    EXPECT_EQ(single("arg" + std::to_string(i) + " == 1").arg, i);
  }
}

TEST(PolicyCondition, OperatorsNeedNoSpaces) {
  const ArgComparison comparison = single("arg3<=0x10");
  EXPECT_EQ(comparison.op, CompareOp::kLe);
  EXPECT_EQ(comparison.arg, 3u);
  EXPECT_EQ(comparison.value, 16u);
  EXPECT_EQ(comparison.text, "arg3<=0x10");
}

TEST(PolicyCondition, MaskedComparisonWithAndWithoutParentheses) {
  for (std::string_view text :
       {"arg2 & PROT_EXEC == 0", "(arg2 & PROT_EXEC) == 0", "( arg2&PROT_EXEC )==0"}) {
    const ArgComparison comparison = single(text);
    EXPECT_EQ(comparison.op, CompareOp::kMaskedEq) << text;
    EXPECT_EQ(comparison.arg, 2u) << text;
    EXPECT_EQ(comparison.mask, uint64_t{PROT_EXEC}) << text;
    EXPECT_EQ(comparison.value, 0u) << text;
    EXPECT_EQ(comparison.text, text);
  }
}

TEST(PolicyCondition, MaskedComparisonWithComplementAndCombination) {
  const ArgComparison rw_only = single("arg2 & ~(PROT_READ|PROT_WRITE) == 0");
  EXPECT_EQ(rw_only.mask, ~uint64_t{PROT_READ | PROT_WRITE});
  EXPECT_EQ(rw_only.value, 0u);
  const ArgComparison shared = single("arg3 & MAP_SHARED|MAP_PRIVATE == MAP_SHARED");
  EXPECT_EQ(shared.mask, uint64_t{MAP_SHARED | MAP_PRIVATE});
  EXPECT_EQ(shared.value, uint64_t{MAP_SHARED});
}

TEST(PolicyCondition, ClausesJoinWithOrAndComparisonsWithAnd) {
  Result<std::vector<ComparisonClause>> clauses =
      parse_condition("arg0 == 1 && arg1 != 2 || arg2 > 3 || arg3 & 4 == 4 && arg4 < 5");
  ASSERT_TRUE(clauses.ok()) << clauses.error().message();
  ASSERT_EQ(clauses->size(), 3u);
  EXPECT_EQ((*clauses)[0].size(), 2u);
  EXPECT_EQ((*clauses)[0][1].text, "arg1 != 2");
  EXPECT_EQ((*clauses)[1].size(), 1u);
  EXPECT_EQ((*clauses)[1][0].text, "arg2 > 3");
  ASSERT_EQ((*clauses)[2].size(), 2u);
  EXPECT_EQ((*clauses)[2][0].text, "arg3 & 4 == 4");
  EXPECT_EQ((*clauses)[2][1].arg, 4u);
}

TEST(PolicyCondition, SameArgumentMayAppearInDifferentClauses) {
  Result<std::vector<ComparisonClause>> clauses = parse_condition("arg1 == 1 || arg1 == 2");
  ASSERT_TRUE(clauses.ok()) << clauses.error().message();
  EXPECT_EQ(clauses->size(), 2u);
}

TEST(PolicyCondition, NumbersInDecimalAndHex) {
  EXPECT_EQ(value_of("0"), 0u);
  EXPECT_EQ(value_of("42"), 42u);
  EXPECT_EQ(value_of("0x2A"), 42u);
  EXPECT_EQ(value_of("0X2a"), 42u);
  EXPECT_EQ(value_of("18446744073709551615"), ~uint64_t{0});
  EXPECT_EQ(value_of("0xffffffffffffffff"), ~uint64_t{0});
  EXPECT_EQ(value_of("0x00000000000000000001"), 1u);
}

TEST(PolicyCondition, NegativeNumbersAreSignExtended) {
  EXPECT_EQ(value_of("-1"), ~uint64_t{0});
  EXPECT_EQ(value_of("-100"), static_cast<uint64_t>(int64_t{-100}));
  EXPECT_EQ(value_of("-0x8000000000000000"), uint64_t{1} << 63);
  EXPECT_EQ(value_of("-0"), 0u);
}

TEST(PolicyCondition, ConstantsCombineWithOrAndComplement) {
  EXPECT_EQ(value_of("PROT_READ|PROT_WRITE"), uint64_t{PROT_READ | PROT_WRITE});
  EXPECT_EQ(value_of("PROT_READ | PROT_WRITE | 0x100"), uint64_t{PROT_READ | PROT_WRITE | 0x100});
  EXPECT_EQ(value_of("~PROT_EXEC"), ~uint64_t{PROT_EXEC});
  // '~' binds to the term right after it; parentheses group.
  EXPECT_EQ(value_of("~PROT_READ|PROT_READ"), ~uint64_t{0});
  EXPECT_EQ(value_of("~(PROT_READ|PROT_WRITE)"), ~uint64_t{3});
  EXPECT_EQ(value_of("~~5"), 5u);
  EXPECT_EQ(value_of("((7))"), 7u);
}

TEST(PolicyCondition, ValueExpressionRejectsTrailingText) {
  Result<uint64_t> value = parse_value_expression("1 2");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().message(), "unexpected '2' after the value");
}

TEST(PolicyCondition, EmptyConditionIsAnError) {
  Result<std::vector<ComparisonClause>> clauses = parse_condition("   ");
  ASSERT_FALSE(clauses.ok());
  EXPECT_EQ(clauses.error().message(), "the condition is empty");
}

}  // namespace
}  // namespace bulwark::policy
