// Worked example A (tests/connector/mapping/data/example_a.json) is the reference connector's own dry-run output (one
// json.dumps line per object), kept verbatim in data/example_a.jsonl. python_dumps must reproduce each
// byte for byte, and staging them must give the reference's stages [author], [indicator, 6
// locations, ipv4-addr], [7 relationships] with the lines in that order.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "batcher_test_support.h"
#include "kfc/batching/batcher.h"
#include "kfc/batching/stages.h"
#include "kfc/stix/python_json.h"

namespace {

constexpr const char* kNow = "2026-04-21T10:00:00.245366Z";

// The reference output lines, with the non-deterministic "<now>" replaced.
std::vector<std::string> reference_lines() {
  const std::string path = std::string(KFC_SOURCE_DIR) + "/tests/connector/batching/data/example_a.jsonl";
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) {
    for (std::size_t at; (at = line.find("<now>")) != std::string::npos;) line.replace(at, 5, kNow);
    lines.push_back(line);
  }
  return lines;
}

rapidjson::Document as_array(const std::vector<std::string>& lines) {
  std::string text = "[";
  for (std::size_t i = 0; i < lines.size(); ++i) text += (i ? "," : "") + lines[i];
  text += "]";
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError());
  return document;
}

TEST(ReferenceExampleA, PythonDumpsReproducesEveryLine) {
  const auto lines = reference_lines();
  ASSERT_EQ(lines.size(), 16u);
  const auto objects = as_array(lines);
  for (rapidjson::SizeType i = 0; i < objects.Size(); ++i) EXPECT_EQ(kfc::stix::python_dumps(objects[i]), lines[i]);
}

TEST(ReferenceExampleA, StagesAndDryRunOutputMatchTheReference) {
  const auto lines = reference_lines();
  // The transform hands back the reference's own output for the one feed object.
  const auto reference_output = [&](rapidjson::Document&, rapidjson::Document& out) { out = as_array(lines); };
  kfc::batching::BatcherOptions options;
  options.sizing = kfc::batching::BundleSizing::SourceBatches;
  kfc::batching::Batcher batcher(reference_output, options);
  rapidjson::Document feed_object;
  feed_object.Parse(R"({"type": "indicator", "id": "indicator--11111111-1111-4111-8111-111111111111"})");
  batcher.push(feed_object);
  batcher.finish();
  ASSERT_TRUE(batcher.has_ready());
  const auto batch = batcher.take();

  EXPECT_EQ(kfc::batching::test::stage_sizes(batch), (std::vector<std::size_t>{1, 8, 7}));
  std::string expected;
  for (const auto& line : lines) expected += line + "\n";  // the example is already in stage order
  EXPECT_EQ(kfc::batching::test::dry_run_text(batch), expected);
}

}  // namespace
