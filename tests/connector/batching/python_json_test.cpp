// python_dumps must write exactly what Python's json.dumps writes. Expected strings were produced by
// running `json.dumps(json.loads(input))` with CPython 3.11 (the reference behaviour) and are kept
// here as data.
#include "kfc/stix/python_json.h"

#include <limits>
#include <sstream>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace {

using kfc::stix::compact_json;
using kfc::stix::python_dumps;

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

std::string dumps(const std::string& json_text) { return python_dumps(parse(json_text)); }

TEST(PythonDumps, PlainAsciiStringIsQuotedOnly) { EXPECT_EQ(dumps(R"("plain")"), R"("plain")"); }

TEST(PythonDumps, NonAsciiIsEscapedWithLowerCaseHex) {
  EXPECT_EQ(dumps("\"Gr\xc3\xbc\xc3\x9f" "e \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe6\x97\xa5\xe6\x9c\xac\""),
            R"("Gr\u00fc\u00dfe \u041f\u0440\u0438\u0432\u0435\u0442 \u65e5\u672c")");
}

TEST(PythonDumps, AstralPlaneBecomesSurrogatePair) {
  // U+1F600, U+10000, U+10FFFF
  EXPECT_EQ(dumps("\"astral \xf0\x9f\x98\x80 \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""),
            R"("astral \ud83d\ude00 \ud800\udc00 \udbff\udfff")");
}

TEST(PythonDumps, ControlCharactersAndDelete) {
  EXPECT_EQ(dumps(R"("ctl \u0000 \u0001 \u001f \u007f \b \f \n \r \t")"),
            R"("ctl \u0000 \u0001 \u001f \u007f \b \f \n \r \t")");
}

TEST(PythonDumps, QuoteBackslashSlashTilde) {
  EXPECT_EQ(dumps(R"("quote \" backslash \\ slash \/ tilde ~")"), R"("quote \" backslash \\ slash / tilde ~")");
}

TEST(PythonDumps, NumbersFollowPythonReprOfFloatAndInt) {
  const std::string input =
      "[1.0, 0.1, 1e16, 1e15, 1234567890123456.0, 1e-05, 0.0001, 0.00012345, -0.0, 1.5e300, 5e-324, 2.5e-7, "
      "100, -7, 18446744073709551615, -9223372036854775808, 1.7976931348623157e308, 123456789.125, "
      "0.30000000000000004, 1e22, 1E2]";
  EXPECT_EQ(dumps(input),
            "[1.0, 0.1, 1e+16, 1000000000000000.0, 1234567890123456.0, 1e-05, 0.0001, 0.00012345, -0.0, "
            "1.5e+300, 5e-324, 2.5e-07, 100, -7, 18446744073709551615, -9223372036854775808, "
            "1.7976931348623157e+308, 123456789.125, 0.30000000000000004, 1e+22, 100.0]");
}

TEST(PythonDumps, RandomFloatsMatchPythonRepr) {
  // Inputs written with 17 significant digits; expected = json.dumps of the parsed values.
  const std::string input =
      "[-9.47865360609063233e-11, 4.82864236268123436e+09, 5.82788005903355075e-08, -8.59472336891716768e-3"
      "0, -2.40663000127025022e-27, 8.26852124672038017e-28, 2.23238964607014554e+29, 5.85541422640386736e+"
      "05, 4.65826806177562769e-18, 4.19139043571465225e-13, 3.08481824101934384e+05, 5.81600163662466207e-"
      "25, 9.74305759947333588e-09, 5.96011699662326573e+04, -6.80399973181785889e+00, -3.14147170376791501"
      "e+18, 2.99766996863682318e-08, 7.79829630584243750e+13, -3.00249118545625301e+05, -3.434756899583732"
      "97e+25, 6.08959019036403614e-13, 5.11932830647549087e-24, -3.42055806159857856e+17, 3.92072570474376"
      "657e-06, -5.58075752653374720e+17, -6.95295366273659309e-10, 7.96891975821594335e+06, -9.35959960869"
      "035993e+21, 6.97042067826928236e-01, -7.31159334640890503e-28, -5.77946230717718124e+10, -7.16627794"
      "398303598e-13, -9.40648566646093725e-30, -6.10919543483076847e-21, -2.18207774819679454e-28, -7.3836"
      "3379594794177e-23, -9.16816226180061549e-06, -1.66366282471920540e-26, 2.77839130784450645e+04, -4.3"
      "0521651089075706e+21, 9.99999999999999800e+15, 1.50000000000000014e-04, 1.00000000000000002e-03, 1.2"
      "3000000000000000e+02, 9.99999999999999800e+15, 9.00719925474099200e+15, 3.33333333333333315e-01]";
  const std::string expected =
      "[-9.478653606090632e-11, 4828642362.681234, 5.827880059033551e-08, -8.594723368917168e-30, -2.406630"
      "0012702502e-27, 8.26852124672038e-28, 2.2323896460701455e+29, 585541.4226403867, 4.658268061775628e-"
      "18, 4.191390435714652e-13, 308481.8241019344, 5.816001636624662e-25, 9.743057599473336e-09, 59601.16"
      "996623266, -6.803999731817859, -3.141471703767915e+18, 2.997669968636823e-08, 77982963058424.38, -30"
      "0249.1185456253, -3.434756899583733e+25, 6.089590190364036e-13, 5.119328306475491e-24, -3.4205580615"
      "985786e+17, 3.9207257047437666e-06, -5.580757526533747e+17, -6.952953662736593e-10, 7968919.75821594"
      "3, -9.35959960869036e+21, 0.6970420678269282, -7.311593346408905e-28, -57794623071.77181, -7.1662779"
      "43983036e-13, -9.406485666460937e-30, -6.1091954348307685e-21, -2.1820777481967945e-28, -7.383633795"
      "947942e-23, -9.168162261800615e-06, -1.6636628247192054e-26, 27783.913078445064, -4.305216510890757e"
      "+21, 9999999999999998.0, 0.00015000000000000001, 0.001, 123.0, 9999999999999998.0, 9007199254740992."
      "0, 0.3333333333333333]";
  EXPECT_EQ(dumps(input), expected);
}

TEST(PythonDumps, NonFiniteFloatsAsPythonWritesThem) {
  rapidjson::Document document(rapidjson::kArrayType);
  auto& allocator = document.GetAllocator();
  document.PushBack(std::numeric_limits<double>::quiet_NaN(), allocator);
  document.PushBack(std::numeric_limits<double>::infinity(), allocator);
  document.PushBack(-std::numeric_limits<double>::infinity(), allocator);
  EXPECT_EQ(python_dumps(document), "[NaN, Infinity, -Infinity]");
}

TEST(PythonDumps, NestedContainersUseCommaSpaceAndColonSpace) {
  EXPECT_EQ(dumps("{\"type\": \"x\", \"nested\": {\"a\": [true, false, null, {}, []], \"b\": {\"c\": \"\xc3\xa9\"}}, "
                  "\"n\": 3}"),
            R"({"type": "x", "nested": {"a": [true, false, null, {}, []], "b": {"c": "\u00e9"}}, "n": 3})");
}

TEST(PythonDumps, KeyOrderIsMemberOrder) {
  EXPECT_EQ(dumps(R"({"type":"indicator","spec_version":"2.1","id":"indicator--1","a":1,"Z":2})"),
            R"({"type": "indicator", "spec_version": "2.1", "id": "indicator--1", "a": 1, "Z": 2})");
}

TEST(PythonDumps, RepeatedKeyKeepsFirstPositionAndLastValue) {
  EXPECT_EQ(dumps(R"({"k": 1, "k2": 2, "k": 3})"), R"({"k": 3, "k2": 2})");
}

TEST(PythonDumps, KeysAlikeInLengthAndHeadAreStillDistinct) {
  EXPECT_EQ(dumps(R"({"created_by_ref": 1, "created_by_xyz": 2, "x": {"abcdefgh1": 3, "abcdefgh2": 4, "abcdefgh1": 5}})"),
            R"({"created_by_ref": 1, "created_by_xyz": 2, "x": {"abcdefgh1": 5, "abcdefgh2": 4}})");
}

TEST(PythonDumps, InvalidUtf8IsReplacedLikePythonDecodeReplace) {
  // Expected: bytes.decode("utf-8", "replace") then json.dumps.
  const auto string_value = [](const std::string& bytes) {
    rapidjson::Document document;
    document.SetString(bytes.c_str(), static_cast<rapidjson::SizeType>(bytes.size()), document.GetAllocator());
    return python_dumps(document);
  };
  EXPECT_EQ(string_value("a\xff" "b\xe2\x82"), R"("a\ufffdb\ufffd")");
  EXPECT_EQ(string_value("\xed\xa0\x80x"), R"("\ufffd\ufffd\ufffdx")");
  EXPECT_EQ(string_value("\xf0\x9f\x98"), R"("\ufffd")");
  EXPECT_EQ(string_value("\xf0\x9f\x98x\xc0\xafz"), R"("\ufffdx\ufffd\ufffdz")");
  EXPECT_EQ(string_value("\xe0\x80\x80"), R"("\ufffd\ufffd\ufffd")");
}

TEST(PythonDumps, EmbeddedNulInStringIsEscaped) {
  rapidjson::Document document;
  document.SetString("a\0b", 3, document.GetAllocator());
  EXPECT_EQ(python_dumps(document), R"("a\u0000b")");
}

// json.dumps of one string, one code point at a time: the plain rules the fast writer must keep
// wherever an escape falls relative to its 16- and 8-byte blocks. Valid UTF-8 input only.
std::string escaped_one_at_a_time(const std::string& text) {
  std::string out = "\"";
  char hex[16];
  const auto u_escape = [&](unsigned unit) {
    std::snprintf(hex, sizeof hex, "\\u%04x", unit);
    out += hex;
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7F) u_escape(c);
      else out.push_back(static_cast<char>(c));
      continue;
    }
    const int length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (0x7F >> length);
    for (int k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    i += static_cast<std::size_t>(length);
    if (cp >= 0x10000) {
      u_escape(0xD800 | ((cp - 0x10000) >> 10));
      u_escape(0xDC00 | ((cp - 0x10000) & 0x3FF));
    } else {
      u_escape(cp);
    }
  }
  return out + "\"";
}

TEST(PythonDumps, EscapesAreFoundAtEveryPositionOfTheScanBlocks) {
  const std::vector<std::string> specials = {"\"", "\\", "\n", "\t", std::string(1, '\x01'), "\x7f", "\xc3\xa9",
                                             "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};
  int checked = 0;
  for (std::size_t length = 0; length <= 40; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const auto& special : specials) {
        std::string text;
        for (std::size_t k = 0; k < length; ++k) text.push_back(static_cast<char>('a' + k % 26));
        text.insert(at, special);
        rapidjson::Document document;
        document.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), document.GetAllocator());
        ASSERT_EQ(python_dumps(document), escaped_one_at_a_time(text)) << "length " << length << " at " << at;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 41 * 42 / 2 * 9);
}

TEST(PythonDumps, WorstCaseGrowthEveryByteInvalid) {
  // 6 output bytes per input byte, in a string long enough to grow the buffer several times.
  const std::string bytes(10000, '\xff');
  rapidjson::Document document(rapidjson::kArrayType);
  rapidjson::Value value;
  value.SetString(bytes.c_str(), static_cast<rapidjson::SizeType>(bytes.size()), document.GetAllocator());
  document.PushBack(value, document.GetAllocator());
  document.PushBack(7, document.GetAllocator());
  std::string expected = "[\"";
  for (int k = 0; k < 10000; ++k) expected += "\\ufffd";
  EXPECT_EQ(python_dumps(document), expected + "\", 7]");
}

TEST(PythonDumps, AppendKeepsWhatTheStringHeld) {
  std::string out = "prefix ";
  kfc::stix::append_python_dumps(parse(R"({"a": [1, "b"]})"), out);
  EXPECT_EQ(out, R"(prefix {"a": [1, "b"]})");
}

TEST(PythonDumps, ManyKeysWithOneRepeatedFarApart) {
  // Without the repeat the object is written as it is; with it, key_3 stays third with its last value.
  std::string input = "{", repeated = "{";
  for (int k = 0; k < 40; ++k) {
    const std::string key = "key_" + std::to_string(k);
    input += (k ? ", \"" : "\"") + key + "\": " + std::to_string(k);
    repeated += (k ? ", \"" : "\"") + key + "\": " + (k == 3 ? std::string("99") : std::to_string(k));
  }
  EXPECT_EQ(dumps(input + "}"), input + "}");
  EXPECT_EQ(dumps(input + ", \"key_3\": 99}"), repeated + "}");
}

TEST(PythonDumps, ReferenceAuthorLineOfExampleA) {
  // Worked example A, first line (with a fixed time in place of <now>).
  const std::string author =
      R"({"type": "identity", "spec_version": "2.1", "id": "identity--04d070e4-451d-54f4-a42e-c64431074504", )"
      R"("created": "2026-04-21T10:00:00.245366Z", "modified": "2026-04-21T10:00:00.245366Z", "name": "Kaspersky", )"
      R"("description": "Kaspersky Lab develops and markets antivirus, internet security, password management, )"
      R"(endpoint security, and other cybersecurity products and services", "identity_class": "organization", )"
      R"("contact_information": "site: www.kaspersky.com", "labels": ["threat_score:kaspersky:high"]})";
  EXPECT_EQ(dumps(author), author);
}

TEST(PythonDumps, DryRunLinesAreOneObjectPerLine) {
  kfc::stix::Bundle stage;
  stage.id = "bundle--00000000-0000-4000-8000-000000000000";
  stage.objects.Parse(R"([{"id": "a", "n": 1}, {"id": "b", "x": "\u00e9"}])");
  std::ostringstream out;
  kfc::stix::write_dry_run_lines(stage, out);
  EXPECT_EQ(out.str(), "{\"id\": \"a\", \"n\": 1}\n{\"id\": \"b\", \"x\": \"\\u00e9\"}\n");
}

TEST(CompactJson, KeepsUtf8AndHasNoWhitespace) {
  EXPECT_EQ(compact_json(parse("{\"a\": [1, 2.5, \"\xc3\xa9\"], \"b\": {\"c\": null}}")),
            "{\"a\":[1,2.5,\"\xc3\xa9\"],\"b\":{\"c\":null}}");
}

TEST(CompactJson, BundleEnvelopeInReferenceKeyOrder) {
  kfc::stix::Bundle bundle;
  bundle.id = "bundle--00000000-0000-4000-8000-000000000000";
  bundle.objects.Parse(R"([{"type": "identity", "id": "identity--1"}])");
  EXPECT_EQ(kfc::stix::compact_bundle_json(bundle),
            R"({"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","spec_version":"2.1",)"
            R"("objects":[{"type":"identity","id":"identity--1"}]})");
}

TEST(CompactJson, RoundTripsThroughTheParser) {
  const std::string text = R"({"x":"line\nbreak \"q\" \\","n":-12,"f":0.25,"l":[true,false,null]})";
  EXPECT_EQ(compact_json(parse(text)), text);
}

}  // namespace
