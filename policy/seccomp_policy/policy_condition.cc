#include "policy/seccomp_policy/policy_condition.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "bulwark/common/hex.h"
#include "policy/seccomp_policy/named_constants.h"

namespace bulwark::policy {

namespace {

// Parentheses and '~' nest; bounding them keeps recursion shallow on hostile text.
constexpr int kMaxValueNesting = 16;

enum class TokenKind { kWord, kNumber, kSymbol, kEnd };

struct Token {
  TokenKind kind;
  std::string_view text;
  size_t offset;  // into the condition text
};

bool is_word_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c); }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string describe_token(const Token& token) {
  return token.kind == TokenKind::kEnd ? std::string("the end of the condition")
                                       : quoted(token.text);
}

// Longest symbols first so that "==" is not read as "=" "=".
constexpr std::array<std::string_view, 14> kSymbols = {"==", "!=", "<=", ">=", "&&", "||", "<",
                                                       ">",  "&",  "|",  "~",  "(",  ")",  "-"};

Result<std::vector<Token>> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    const size_t start = i;
    if (is_word_start(c) || is_digit(c)) {
      while (i < text.size() && is_word_char(text[i])) ++i;
      tokens.push_back({is_digit(c) ? TokenKind::kNumber : TokenKind::kWord,
                        text.substr(start, i - start), start});
      continue;
    }
    bool matched = false;
    for (std::string_view symbol : kSymbols) {
      if (text.substr(i, symbol.size()) == symbol) {
        tokens.push_back({TokenKind::kSymbol, symbol, start});
        i += symbol.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (c == '=') return Error("'=' is not an operator; write '==' to test equality");
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e) return Error("unexpected byte " + hex(byte) + " in condition");
    return Error("unexpected character " + quoted(std::string_view(&text[i], 1)) +
                 " in condition");
  }
  tokens.push_back({TokenKind::kEnd, {}, text.size()});
  return tokens;
}

Result<uint64_t> parse_number(std::string_view text) {
  const std::string not_a_number = quoted(text) + " is not a number";
  uint64_t value = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    if (text.size() == 2) return Error(not_a_number + " (hex digits are missing)");
    for (char c : text.substr(2)) {
      uint64_t digit;
      if (is_digit(c)) {
        digit = static_cast<uint64_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint64_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint64_t>(c - 'A' + 10);
      } else {
        return Error(not_a_number + " (hex digits are 0-9 and a-f)");
      }
      if (value > (std::numeric_limits<uint64_t>::max() >> 4)) {
        return Error(quoted(text) + " does not fit in 64 bits");
      }
      value = (value << 4) | digit;
    }
    return value;
  }
  if (text.size() > 1 && text[0] == '0') {
    return Error(not_a_number + ": a leading 0 is not allowed (write hex as 0x...)");
  }
  for (char c : text) {
    if (!is_digit(c)) return Error(not_a_number);
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return Error(quoted(text) + " does not fit in 64 bits");
    }
    value = value * 10 + digit;
  }
  return value;
}

// Returns N for "argN" with N in 0..5, an error for other "arg..." words, nullopt otherwise.
Result<std::optional<unsigned>> argument_index(std::string_view word) {
  if (word.size() < 4 || word.substr(0, 3) != "arg") return std::optional<unsigned>();
  const std::string_view digits = word.substr(3);
  for (char c : digits) {
    if (!is_digit(c)) return std::optional<unsigned>();
  }
  if (digits.size() != 1 || digits[0] > '5') {
    return Error(quoted(word) + ": system call arguments are arg0 to arg5");
  }
  return std::optional<unsigned>(static_cast<unsigned>(digits[0] - '0'));
}

class ConditionParser {
 public:
  ConditionParser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  Result<std::vector<ComparisonClause>> parse_condition() {
    std::vector<ComparisonClause> clauses;
    while (true) {
      Result<ComparisonClause> clause = parse_clause();
      if (!clause.ok()) return clause.error();
      clauses.push_back(std::move(*clause));
      if (!at_symbol("||")) break;
      next();
      if (peek().kind == TokenKind::kEnd) return Error("expected a comparison after '||'");
    }
    BULWARK_TRY(expect_end());
    return clauses;
  }

  Result<uint64_t> parse_value_only() {
    Result<uint64_t> value = parse_value("the start", 0);
    if (!value.ok()) return value.error();
    if (peek().kind != TokenKind::kEnd) {
      return Error("unexpected " + describe_token(peek()) + " after the value");
    }
    return value;
  }

 private:
  const Token& peek() const { return tokens_[position_]; }
  const Token& next() {
    const Token& token = tokens_[position_];
    if (token.kind != TokenKind::kEnd) ++position_;
    return token;
  }
  bool at_symbol(std::string_view symbol) const {
    return peek().kind == TokenKind::kSymbol && peek().text == symbol;
  }

  Status expect_end() {
    if (peek().kind == TokenKind::kEnd) return ok_status();
    const Token& token = peek();
    const std::string previous = last_comparison_text_.empty()
                                     ? std::string()
                                     : " after " + quoted(last_comparison_text_);
    std::string hint;
    if (token.kind == TokenKind::kSymbol && token.text == "&") hint = " (write '&&' for 'and')";
    return Error("expected '&&' or '||'" + previous + ", got " + describe_token(token) + hint);
  }

  Result<ComparisonClause> parse_clause() {
    ComparisonClause clause;
    while (true) {
      Result<ArgComparison> comparison = parse_comparison();
      if (!comparison.ok()) return comparison.error();
      for (const ArgComparison& earlier : clause) {
        if (earlier.arg == comparison->arg) {
          return Error("arg" + std::to_string(comparison->arg) +
                       " is tested twice in one '&&' group (" + quoted(earlier.text) + " and " +
                       quoted(comparison->text) +
                       "); seccomp allows one test per argument in a group, use '||' between "
                       "alternatives");
        }
      }
      clause.push_back(std::move(*comparison));
      if (!at_symbol("&&")) break;
      next();
      if (peek().kind == TokenKind::kEnd) return Error("expected a comparison after '&&'");
    }
    return clause;
  }

  Result<ArgComparison> parse_comparison() {
    const size_t start = peek().offset;
    ArgComparison comparison;
    // "(argN & MASK) == VALUE" is accepted as well as the unparenthesised form.
    const bool parenthesised_mask = at_symbol("(");
    if (parenthesised_mask) next();
    const Token& first = next();
    Result<std::optional<unsigned>> index = first.kind == TokenKind::kWord
                                                ? argument_index(first.text)
                                                : Result<std::optional<unsigned>>(std::nullopt);
    if (!index.ok()) return index.error();
    if (!index->has_value()) {
      return Error("expected a comparison starting with arg0..arg5, got " +
                   describe_token(first));
    }
    comparison.arg = **index;
    const std::string arg_name = "arg" + std::to_string(comparison.arg);

    if (at_symbol("&")) {
      next();
      Result<uint64_t> mask = parse_value("'&'", 0);
      if (!mask.ok()) return mask.error();
      if (parenthesised_mask) {
        if (!at_symbol(")")) {
          return Error("expected ')' after the mask, got " + describe_token(peek()));
        }
        next();
      }
      if (!at_symbol("==")) {
        const bool other_operator =
            peek().kind == TokenKind::kSymbol &&
            (peek().text == "!=" || peek().text[0] == '<' || peek().text[0] == '>');
        if (other_operator) {
          return Error("a masked test '" + arg_name + " & MASK' can only use '==', not " +
                       describe_token(peek()));
        }
        return Error("expected '==' after '" + arg_name + " & MASK', got " +
                     describe_token(peek()));
      }
      next();
      Result<uint64_t> value = parse_value("'=='", 0);
      if (!value.ok()) return value.error();
      comparison.op = CompareOp::kMaskedEq;
      comparison.mask = *mask;
      comparison.value = *value;
    } else {
      if (parenthesised_mask) {
        return Error("expected '&' after '(" + arg_name + "', got " + describe_token(peek()));
      }
      const Token& op = next();
      if (op.kind != TokenKind::kSymbol || !set_operator(op.text, comparison)) {
        return Error("expected ==, !=, <, <=, >, >= or '& MASK ==' after '" + arg_name +
                     "', got " + describe_token(op));
      }
      Result<uint64_t> value = parse_value(quoted(op.text), 0);
      if (!value.ok()) return value.error();
      comparison.value = *value;
    }
    const size_t end = tokens_[position_ - 1].offset + tokens_[position_ - 1].text.size();
    comparison.text = std::string(text_.substr(start, end - start));
    last_comparison_text_ = comparison.text;
    BULWARK_TRY(check_meaningful(comparison));
    return comparison;
  }

  static bool set_operator(std::string_view text, ArgComparison& comparison) {
    static constexpr std::array<std::pair<std::string_view, CompareOp>, 6> kOperators{{
        {"==", CompareOp::kEq},
        {"!=", CompareOp::kNe},
        {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe},
        {">", CompareOp::kGt},
        {">=", CompareOp::kGe},
    }};
    for (const auto& [spelling, op] : kOperators) {
      if (text == spelling) {
        comparison.op = op;
        return true;
      }
    }
    return false;
  }

  // Tests that hold for every value (or none) read like restrictions but are not: refuse them.
  static Status check_meaningful(const ArgComparison& c) {
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    const std::string what = quoted(c.text);
    switch (c.op) {
      case CompareOp::kMaskedEq:
        if (c.mask == 0) return Error(what + ": a mask of 0 makes the test always true");
        if ((c.value & ~c.mask) != 0) {
          return Error(what + ": the value " + hex(c.value) + " has bits outside the mask " +
                       hex(c.mask) + ", so the test could never be true");
        }
        return ok_status();
      case CompareOp::kLt:
        if (c.value == 0) return Error(what + " is never true (arguments are unsigned)");
        return ok_status();
      case CompareOp::kGe:
        if (c.value == 0) return Error(what + " is always true (arguments are unsigned)");
        return ok_status();
      case CompareOp::kLe:
        if (c.value == kMax) return Error(what + " is always true");
        return ok_status();
      case CompareOp::kGt:
        if (c.value == kMax) return Error(what + " is never true");
        return ok_status();
      case CompareOp::kEq:
      case CompareOp::kNe:
        return ok_status();
    }
    return ok_status();
  }

  Result<uint64_t> parse_value(const std::string& after, int nesting) {
    Result<uint64_t> value = parse_term(after, nesting);
    if (!value.ok()) return value;
    uint64_t combined = *value;
    while (at_symbol("|")) {
      next();
      Result<uint64_t> term = parse_term("'|'", nesting);
      if (!term.ok()) return term;
      combined |= *term;
    }
    return combined;
  }

  Result<uint64_t> parse_term(const std::string& after, int nesting) {
    if (nesting >= kMaxValueNesting) {
      return Error("value nested more than " + std::to_string(kMaxValueNesting) + " deep");
    }
    const Token& token = next();
    switch (token.kind) {
      case TokenKind::kNumber:
        return parse_number(token.text);
      case TokenKind::kWord: {
        Result<std::optional<unsigned>> index = argument_index(token.text);
        if (!index.ok() || index->has_value()) {
          return Error(quoted(token.text) +
                       " cannot be used as a value (to join tests write '&&' or '||', not '&' "
                       "or '|')");
        }
        std::optional<uint64_t> constant = find_named_constant(token.text);
        if (!constant) return Error("unknown constant " + quoted(token.text));
        return *constant;
      }
      case TokenKind::kSymbol:
        if (token.text == "~") {
          Result<uint64_t> operand = parse_term("'~'", nesting + 1);
          if (!operand.ok()) return operand;
          return ~*operand;
        }
        if (token.text == "-") {
          const Token& number = next();
          if (number.kind != TokenKind::kNumber) {
            return Error("expected a number after '-', got " + describe_token(number));
          }
          Result<uint64_t> magnitude = parse_number(number.text);
          if (!magnitude.ok()) return magnitude;
          if (*magnitude > (uint64_t{1} << 63)) {
            return Error("'-" + std::string(number.text) + "' does not fit in 64 bits");
          }
          return uint64_t{0} - *magnitude;
        }
        if (token.text == "(") {
          Result<uint64_t> inner = parse_value("'('", nesting + 1);
          if (!inner.ok()) return inner;
          if (!at_symbol(")")) return Error("expected ')', got " + describe_token(peek()));
          next();
          return inner;
        }
        break;
      case TokenKind::kEnd:
        break;
    }
    return Error("expected a number or constant name after " + after + ", got " +
                 describe_token(token));
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t position_ = 0;
  std::string last_comparison_text_;
};

}  // namespace

Result<std::vector<ComparisonClause>> parse_condition(std::string_view text) {
  Result<std::vector<Token>> tokens = tokenize(text);
  if (!tokens.ok()) return tokens.error();
  if (tokens->size() == 1) return Error("the condition is empty");
  return ConditionParser(text, std::move(*tokens)).parse_condition();
}

Result<uint64_t> parse_value_expression(std::string_view text) {
  Result<std::vector<Token>> tokens = tokenize(text);
  if (!tokens.ok()) return tokens.error();
  return ConditionParser(text, std::move(*tokens)).parse_value_only();
}

}  // namespace bulwark::policy
