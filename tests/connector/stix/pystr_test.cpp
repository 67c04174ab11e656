// Python str semantics (connector/stix/README.md); expected values were produced by Python 3.11.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kfc/stix/pystr.h"

namespace kfc::stix {
namespace {

TEST(PyStrip, RemovesEveryPythonWhitespaceCharacter) {
  EXPECT_EQ(py_strip("  a b \t\n"), "a b");
  EXPECT_EQ(py_strip("\x1c\x1d\x1e\x1fx\x0b\x0c"), "x");
  EXPECT_EQ(py_strip("\xc2\xa0Lazarus\xe3\x80\x80"), "Lazarus");            // NBSP, U+3000
  EXPECT_EQ(py_strip("\xc2\x85\xe1\x9a\x80\xe2\x80\x80x\xe2\x80\x8a\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\x9f"), "x");
  EXPECT_EQ(py_strip("\xe2\x80\x8bx\xe2\x80\x8b"), "\xe2\x80\x8bx\xe2\x80\x8b");  // U+200B is not space
  EXPECT_EQ(py_strip(""), "");
  EXPECT_EQ(py_strip(" \t "), "");
  EXPECT_EQ(py_strip("\xff x \xff"), "\xff x \xff");  // invalid bytes are not whitespace
}

// py_strip finds the end from the back over ASCII bytes and falls back to a forward pass when a
// longer sequence ends the text: every string of up to five pieces (spaces, letters, multi-byte
// spaces and non-spaces, invalid and truncated sequences) strips as one forward pass over it does.
TEST(PyStrip, SameAsOneForwardPassOverEveryMixOfPieces) {
  auto forward = [](std::string_view s) {
    std::size_t begin = s.size(), end = 0, i = 0;
    while (i < s.size()) {
      const std::size_t at = i;
      bool valid = true;
      const char32_t cp = utf8_decode(s, i, &valid);
      if (!valid || !py_isspace(cp)) {
        if (begin == s.size()) begin = at;
        end = i;
      }
    }
    return begin < end ? s.substr(begin, end - begin) : std::string_view{};
  };
  const std::vector<std::string> pieces = {" ", "\t", "a", "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x8b",
                                           "\xc3\xa9", "\xff", "\xe2\x80", "\x80"};
  std::vector<std::string> texts = {""};
  for (int length = 1; length <= 5; ++length) {
    std::vector<std::string> longer;
    for (const auto& t : texts)
      for (const auto& p : pieces) longer.push_back(t + p);
    for (const auto& t : longer) EXPECT_EQ(py_strip(t), forward(t)) << "text of " << t.size() << " bytes";
    texts = std::move(longer);
  }
}

TEST(PyLower, FullUnicodeMappingsAsPython) {
  EXPECT_EQ(py_lower("Oil & GAS"), "oil & gas");
  EXPECT_EQ(py_lower("\xc4\xb0stanbul"), "i\xcc\x87stanbul");                // İ -> i + U+0307
  EXPECT_EQ(py_lower("Энергетика"), "энергетика");
  EXPECT_EQ(py_lower("ΟΔΟΣ"), "οδος");                                        // final sigma
  EXPECT_EQ(py_lower("ΟΔΟΣ ΑΒ"), "οδος αβ");
  EXPECT_EQ(py_lower("Σ"), "σ");                                              // not final: no cased before
  EXPECT_EQ(py_lower("AΣ."), "aς.");                                          // '.' is case-ignorable
  EXPECT_EQ(py_lower("ΑΣ'Α"), "ασ'α");                                        // cased after the ignorable
  EXPECT_EQ(py_lower("Straße"), "straße");
  EXPECT_EQ(py_lower("ǅ"), "ǆ");
  EXPECT_EQ(py_lower("ÀÉÎ"), "àéî");
  EXPECT_EQ(py_lower("\xf0\x90\x90\x80"), "\xf0\x90\x90\xa8");                // U+10400 -> U+10428
  EXPECT_EQ(py_lower("A\xff" "B"), "a\xff" "b");                                 // invalid byte kept
}

TEST(PyUpper, FullUnicodeMappingsAsPython) {
  EXPECT_EQ(py_upper("jp, au"), "JP, AU");
  EXPECT_EQ(py_upper("Straße"), "STRASSE");
  EXPECT_EQ(py_upper("ǅ"), "Ǆ");
  EXPECT_EQ(py_upper("ⅷ"), "Ⅷ");
  EXPECT_EQ(py_upper("Côte d'Ivoire"), "CÔTE D'IVOIRE");
  EXPECT_EQ(py_upper("Türkiye"), "TÜRKIYE");
  EXPECT_EQ(py_upper("ﬁ"), "FI");
}

TEST(PyNorm, LowerThenStrip) {
  EXPECT_EQ(py_norm("  Oil & Gas "), "oil & gas");
  EXPECT_EQ(py_norm("\xc2\xa0" "APT38\xe3\x80\x80"), "apt38");
}

TEST(PySplit, KeepsEmptyFields) {
  EXPECT_EQ(py_split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(py_split("", ','), (std::vector<std::string_view>{""}));
  EXPECT_EQ(py_split("a,", ','), (std::vector<std::string_view>{"a", ""}));
}

TEST(Utf8, DecodesAndRejectsMalformedSequences) {
  std::size_t i = 0;
  bool valid = false;
  EXPECT_EQ(utf8_decode("\xe2\x82\xac", i, &valid), 0x20ACu);
  EXPECT_TRUE(valid);
  EXPECT_EQ(i, 3u);
  i = 0;
  utf8_decode("\xc0\x80", i, &valid);  // overlong
  EXPECT_FALSE(valid);
  EXPECT_EQ(i, 1u);
  i = 0;
  utf8_decode("\xed\xa0\x80", i, &valid);  // surrogate
  EXPECT_FALSE(valid);
  i = 0;
  utf8_decode("\xe2\x82", i, &valid);  // truncated
  EXPECT_FALSE(valid);
  std::string out;
  utf8_append(0x1F600, out);
  EXPECT_EQ(out, "\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace kfc::stix
