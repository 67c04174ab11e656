#pragma once
// Driving a Batcher the way the run loop does, for the batching tests.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>
#include <string>
#include <vector>

#include "kfc/batching/batcher.h"
#include "kfc/stix/python_json.h"

namespace kfc::batching::test {

inline rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

inline std::vector<Batch> drain(Batcher& batcher) {
  std::vector<Batch> batches;
  while (batcher.has_ready()) batches.push_back(batcher.take());
  return batches;
}

// Pushes the feed objects (JSON texts), taking ready batches after each, then finishes.
inline std::vector<Batch> run(Batcher& batcher, const std::vector<std::string>& feed) {
  std::vector<Batch> batches;
  for (const auto& text : feed) {
    batcher.push(parse(text));
    for (auto& batch : drain(batcher)) batches.push_back(std::move(batch));
  }
  batcher.finish();
  for (auto& batch : drain(batcher)) batches.push_back(std::move(batch));
  return batches;
}

// How many objects each stage of `batch` holds, in order.
inline std::vector<std::size_t> stage_sizes(const Batch& batch) {
  std::vector<std::size_t> sizes;
  for (const auto& stage : batch.stages) sizes.push_back(stage.size());
  return sizes;
}

// The dry-run output of `batch`: every stage's lines, stage after stage.
inline std::string dry_run_text(const Batch& batch) {
  std::ostringstream out;
  for (const auto& stage : batch.stages) kfc::stix::write_dry_run_lines(stage, out);
  return out.str();
}

}  // namespace kfc::batching::test
