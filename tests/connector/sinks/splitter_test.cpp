// pycti's per-object split (OpenCTIStix2Splitter) reproduced: counts, order, cleaning.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <random>

#include <rapidjson/document.h>

#include "kfc/sinks/message.h"
#include "kfc/sinks/splitter.h"

namespace kfc::sinks {
namespace {

stix::Bundle bundle_of(const char* objects_json, std::string id = "bundle--11111111-2222-4333-8444-555555555555") {
  stix::Bundle bundle;
  bundle.id = std::move(id);
  bundle.objects.Parse(objects_json);
  return bundle;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

constexpr char kStage[] = R"([
  {"type":"report","id":"report--1","created_by_ref":"identity--author",
   "object_refs":["indicator--1","indicator--1","malware--1","x-unknown-type--9"]},
  {"type":"relationship","id":"relationship--1","source_ref":"indicator--1","target_ref":"malware--1",
   "created_by_ref":"identity--author"},
  {"type":"indicator","id":"indicator--1","created_by_ref":"identity--author"},
  {"type":"malware","id":"malware--1","created_by_ref":"identity--author"},
  {"type":"identity","id":"identity--author"}
])";

TEST(SplitterTest, OneObjectPerMessageOrderedByDependencyCount) {
  auto messages = split_bundle(bundle_of(kStage));
  ASSERT_EQ(messages.size(), 5u);
  std::vector<std::pair<std::string, int>> order;
  for (const auto& message : messages) order.emplace_back(message.object_id, message.nb_deps);
  // author 1; indicator and malware 1 + author = 2; relationship 1 + 2 + 2 + author 1 = 6.
  EXPECT_EQ(order[0], (std::pair<std::string, int>{"identity--author", 1}));
  EXPECT_EQ(order[1].second, 2);
  EXPECT_EQ(order[2].second, 2);
  EXPECT_EQ(order[3], (std::pair<std::string, int>{"relationship--1", 6}));
  EXPECT_EQ(order[4].first, "report--1");
}

TEST(SplitterTest, ReportCountsEveryListedReferenceAsPyctiDoes) {
  auto messages = split_bundle(bundle_of(kStage));
  const auto& report = messages.back();
  // 1 + author(1) + indicator(2) + indicator again(2, from cache) + malware(2); unknown type skipped.
  EXPECT_EQ(report.nb_deps, 8);
}

TEST(SplitterTest, MessageBundleHasTheOriginalIdSeqAndNbDeps) {
  auto messages = split_bundle(bundle_of(kStage));
  auto doc = parse(messages.back().bundle_json);
  EXPECT_STREQ(doc["type"].GetString(), "bundle");
  EXPECT_STREQ(doc["id"].GetString(), "bundle--11111111-2222-4333-8444-555555555555");
  EXPECT_STREQ(doc["spec_version"].GetString(), "2.1");
  EXPECT_EQ(doc["x_opencti_seq"].GetInt(), 8);
  ASSERT_EQ(doc["objects"].Size(), 1u);
  EXPECT_EQ(doc["objects"][0]["nb_deps"].GetInt(), 8);
}

TEST(SplitterTest, ObjectRefsAreDeduplicatedAndUnsupportedTypesDropped) {
  auto messages = split_bundle(bundle_of(kStage));
  auto doc = parse(messages.back().bundle_json);
  const auto& refs = doc["objects"][0]["object_refs"];
  ASSERT_EQ(refs.Size(), 2u);
  EXPECT_STREQ(refs[0].GetString(), "indicator--1");
  EXPECT_STREQ(refs[1].GetString(), "malware--1");
}

TEST(SplitterTest, ReferencesOutsideTheBundleAreKeptButNotCounted) {
  auto messages = split_bundle(bundle_of(R"([{"type":"indicator","id":"indicator--1","created_by_ref":"identity--elsewhere",
    "object_marking_refs":["marking-definition--tlp"]}])"));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].nb_deps, 1);
  auto doc = parse(messages[0].bundle_json);
  EXPECT_STREQ(doc["objects"][0]["created_by_ref"].GetString(), "identity--elsewhere");
  EXPECT_EQ(doc["objects"][0]["object_marking_refs"].Size(), 1u);
}

TEST(SplitterTest, AListedReferenceHoldingUPlus0000IsKeptWhole) {
  auto messages = split_bundle(bundle_of(R"([{"type":"indicator","id":"indicator--1",
    "object_marking_refs":["marking-definition--a\u0000b"]}])"));
  ASSERT_EQ(messages.size(), 1u);
  auto doc = parse(messages[0].bundle_json);
  const auto& refs = doc["objects"][0]["object_marking_refs"];
  ASSERT_EQ(refs.Size(), 1u);
  EXPECT_EQ(std::string(refs[0].GetString(), refs[0].GetStringLength()), std::string("marking-definition--a\0b", 23));
}

TEST(SplitterTest, RelationshipWithoutTargetIsNotPublished) {
  auto messages = split_bundle(bundle_of(R"([
    {"type":"indicator","id":"indicator--1"},
    {"type":"relationship","id":"relationship--1","source_ref":"indicator--1"},
    {"type":"relationship","id":"relationship--2","source_ref":"indicator--1","target_ref":"indicator--1"}])"));
  // relationship--2 has source and target (both indicator--1): published; relationship--1 is not.
  std::vector<std::string> ids;
  for (const auto& message : messages) ids.push_back(message.object_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"indicator--1", "relationship--2"}));
}

TEST(SplitterTest, SelfReferenceBecomesNull) {
  auto messages = split_bundle(bundle_of(R"([{"type":"identity","id":"identity--1","created_by_ref":"identity--1"}])"));
  ASSERT_EQ(messages.size(), 1u);
  auto doc = parse(messages[0].bundle_json);
  EXPECT_TRUE(doc["objects"][0]["created_by_ref"].IsNull());
  EXPECT_EQ(messages[0].nb_deps, 1);
}

TEST(SplitterTest, CyclesTerminate) {
  auto messages = split_bundle(bundle_of(R"([
    {"type":"note","id":"note--a","object_refs":["note--b"]},
    {"type":"note","id":"note--b","object_refs":["note--c"]},
    {"type":"note","id":"note--c","object_refs":["note--a"]}])"));
  EXPECT_EQ(messages.size(), 3u);
}

TEST(SplitterTest, ExternalReferencesAndKillChainPhasesAreDeduplicated) {
  auto messages = split_bundle(bundle_of(R"([{"type":"malware","id":"malware--1",
    "external_references":[{"source_name":"a","url":"https://x"},{"source_name":"b","url":"https://x"},
                           {"source_name":"c","external_id":"T1"},{"source_name":"c","external_id":"T1"},
                           {"source_name":"no-id"}],
    "kill_chain_phases":[{"kill_chain_name":"k","phase_name":"p"},{"kill_chain_name":"k","phase_name":"p"}]}])"));
  auto doc = parse(messages[0].bundle_json);
  const auto& references = doc["objects"][0]["external_references"];
  ASSERT_EQ(references.Size(), 2u);
  EXPECT_STREQ(references[0]["source_name"].GetString(), "a");
  EXPECT_STREQ(references[1]["source_name"].GetString(), "c");
  EXPECT_EQ(doc["objects"][0]["kill_chain_phases"].Size(), 1u);
}

TEST(SplitterTest, UnsupportedTypeObjectIsNotPublished) {
  auto messages = split_bundle(bundle_of(R"([{"type":"x-custom-thing","id":"x-custom-thing--1"},
    {"type":"indicator","id":"indicator--1"}])"));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].object_id, "indicator--1");
}

TEST(SplitterTest, InputBundleIsLeftUntouched) {
  auto bundle = bundle_of(kStage);
  split_bundle(bundle);
  EXPECT_FALSE(bundle.objects[0].HasMember("nb_deps"));
  EXPECT_EQ(bundle.objects[0]["object_refs"].Size(), 4u);
}

// The splitter's tables are kept from one bundle to the next on a thread: nothing of a bundle may
// leak into the next (here the same ids count differently in the second bundle).
TEST(SplitterTest, ABundleSplitAfterAnotherIsSplitAsIfAlone) {
  const char* second = R"([{"type":"indicator","id":"indicator--1"},{"type":"report","id":"report--1","object_refs":["indicator--1"]}])";
  const auto alone = split_bundle(bundle_of(second));
  split_bundle(bundle_of(kStage));
  const auto after = split_bundle(bundle_of(second));
  ASSERT_EQ(after.size(), alone.size());
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].bundle_json, alone[i].bundle_json);
  EXPECT_EQ(after.back().nb_deps, 2);  // indicator--1 has no author here: 1 + 1
}

// A chain of 3,000 objects, each citing the one before: the id table grows several times, and every
// count still comes out (1, 2, … 3,000), in ascending order.
TEST(SplitterTest, ALongChainIsCountedWhole) {
  // As long as a batch is by default (max_bundle_objects, 1000): the walk follows pycti's recursion,
  // one call per link, and a sanitizer build's frames make 3000 links overflow its stack.
  std::string objects = "[";
  constexpr int kCount = 1000;
  for (int i = kCount - 1; i >= 0; --i) {
    objects += R"({"type":"note","id":"note--)" + std::to_string(i) + R"(")";
    if (i > 0) objects += R"(,"object_refs":["note--)" + std::to_string(i - 1) + R"("])";
    objects += i > 0 ? "}," : "}";
  }
  objects += "]";
  const auto messages = split_bundle(bundle_of(objects.c_str()));
  ASSERT_EQ(messages.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(messages[static_cast<std::size_t>(i)].object_id, "note--" + std::to_string(i));
    EXPECT_EQ(messages[static_cast<std::size_t>(i)].nb_deps, i + 1);
  }
}

// A reference may name an object by its x_opencti_id; pycti keeps one entry per name, so the
// object is counted once under each name and published once.
TEST(SplitterTest, AnObjectReachedByItsOpenCtiIdIsCountedAndPublishedOnce) {
  auto messages = split_bundle(bundle_of(R"([
    {"type":"report","id":"report--1","object_refs":["malware--1","internal-7"]},
    {"type":"malware","id":"malware--1","x_opencti_id":"internal-7","created_by_ref":"identity--a"},
    {"type":"identity","id":"identity--a"}])"));
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2].object_id, "report--1");
  EXPECT_EQ(messages[2].nb_deps, 5);  // 1 + malware (2) under each of its names
  auto doc = parse(messages[2].bundle_json);
  EXPECT_EQ(doc["objects"][0]["object_refs"].Size(), 2u);
}

// Short ids are stored inside their JSON value, which moves when "nb_deps" is added to its object;
// the references kept must still read the right bytes.
TEST(SplitterTest, ShortIdsSurviveTheirObjectsGrowing) {
  auto messages = split_bundle(bundle_of(R"([
    {"type":"note","id":"note--b","object_refs":["note--a","note--a","x--1"]},
    {"type":"note","id":"note--a"}])"));
  ASSERT_EQ(messages.size(), 2u);
  auto doc = parse(messages[1].bundle_json);
  const auto& refs = doc["objects"][0]["object_refs"];
  ASSERT_EQ(refs.Size(), 1u);
  EXPECT_STREQ(refs[0].GetString(), "note--a");
  EXPECT_EQ(messages[1].nb_deps, 3);  // 1 + note--a twice
}

// The keys read after the walk (type, opencti_operation, source/target, nb_deps) are noted during
// it: an operation makes a relationship without target publishable, an nb_deps already there is
// replaced in place, and one added by a cycle while the object was walked is not added twice.
TEST(SplitterTest, KeysNotedDuringTheWalkDecideAsBefore) {
  auto messages = split_bundle(bundle_of(R"([
    {"type":"indicator","id":"indicator--1","nb_deps":42,"x":1},
    {"type":"relationship","id":"relationship--1","source_ref":"indicator--1","opencti_operation":"delete"},
    {"type":"relationship","id":"relationship--2","source_ref":"indicator--1","opencti_operation":null},
    {"type":"note","id":"note--a","object_refs":["note--b"]},
    {"type":"note","id":"note--b","object_refs":["note--c"]},
    {"type":"note","id":"note--c","object_refs":["note--a"]}])"));
  std::map<std::string, std::string> by_id;
  for (const auto& message : messages) by_id[message.object_id] = message.bundle_json;
  EXPECT_EQ(by_id.count("relationship--1"), 1u);
  EXPECT_EQ(by_id.count("relationship--2"), 0u);
  auto indicator = parse(by_id.at("indicator--1"));
  EXPECT_EQ(indicator["objects"][0]["nb_deps"].GetInt(), 1);
  EXPECT_EQ(indicator["objects"][0].MemberCount(), 4u);  // type, id, nb_deps (in place), x
  for (const char* note : {"note--a", "note--b", "note--c"}) {
    const auto doc = parse(by_id.at(note));
    const auto& object = doc["objects"][0];
    int count = 0;
    for (auto member = object.MemberBegin(); member != object.MemberEnd(); ++member) {
      count += std::string(member->name.GetString()) == "nb_deps";
    }
    EXPECT_EQ(count, 1) << note;
  }
}

TEST(SplitterTest, WholeBundleKeepsEverything) {
  auto doc = parse(whole_bundle_json(bundle_of(kStage)));
  EXPECT_EQ(doc["objects"].Size(), 5u);
  EXPECT_FALSE(doc.HasMember("x_opencti_seq"));
}

TEST(MessageTest, EnvelopeIsPyctisJsonDumps) {
  MessageFields fields{.applicant_id = "user--1", .action_sequence = 3, .update = true, .work_id = std::string("work--9")};
  std::string body = queue_message(fields, R"({"type":"bundle"})");
  EXPECT_EQ(body, R"({"bundle_type": "QUEUE_BUNDLE", "applicant_id": "user--1", "action_sequence": 3, )"
                  R"("entities_types": [], "content": "eyJ0eXBlIjoiYnVuZGxlIn0=", "update": true, )"
                  R"("draft_id": null, "work_id": "work--9"})");
  fields.work_id.reset();
  EXPECT_EQ(queue_message(fields, "x").find("work_id"), std::string::npos);
}

TEST(MessageTest, Base64OfUtf8) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("\xc3\xa9t\xc3\xa9"), "w6l0w6k=");
}

// The hand-written encoder against OpenSSL's on every length up to 300 and every byte value.
TEST(MessageTest, Base64IsOpenSslsOnEveryLengthAndByte) {
  std::mt19937 random(7);
  for (std::size_t length = 0; length <= 300; ++length) {
    std::string data(length, '\0');
    for (std::size_t i = 0; i < length; ++i) data[i] = static_cast<char>(length == 256 ? i : random() & 0xFF);
    std::string expected(4 * ((length + 2) / 3), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()),
                                        reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(length));
    expected.resize(static_cast<std::size_t>(written));
    ASSERT_EQ(base64_encode(data), expected) << "length " << length;
  }
}

// Every encoder this CPU can run writes the scalar encoder's bytes, on every length up to 300 (the
// vector loops' boundaries at 12/16 and 24/28 bytes and every tail), at every start offset within a
// vector, and on lengths around a typical message.
TEST(MessageTest, Base64EncodersAgreeWithTheScalarOne) {
  using detail::Base64Encoder;
  std::mt19937 random(11);
  std::string source(4096 + 64, '\0');
  for (auto& byte : source) byte = static_cast<char>(random() & 0xFF);
  std::vector<std::pair<std::size_t, std::size_t>> cases;  // offset, length
  for (std::size_t length = 0; length <= 300; ++length) cases.emplace_back(length % 32, length);
  for (std::size_t offset = 0; offset < 32; ++offset) cases.emplace_back(offset, 100 + offset);
  for (std::size_t length = 1400; length <= 1500; ++length) cases.emplace_back(7, length);
  cases.emplace_back(0, 4096);
  int tested = 0;
  for (auto encoder : {Base64Encoder::Ssse3, Base64Encoder::Avx2}) {
    if (!detail::base64_encoder_available(encoder)) continue;
    ++tested;
    for (const auto& [offset, length] : cases) {
      const std::string_view data(source.data() + offset, length);
      std::string expected(base64_length(length) + 1, '#');  // one guard byte: nothing written past the end
      std::string got = expected;
      detail::write_base64_with(Base64Encoder::Scalar, data, expected.data());
      detail::write_base64_with(encoder, data, got.data());
      ASSERT_EQ(got, expected) << "encoder " << static_cast<int>(encoder) << " offset " << offset << " length " << length;
    }
    // Every byte value in every position of a 3-byte group.
    std::string all(768, '\0');
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<char>(i / 3 + (i % 3) * 85);
    std::string expected(base64_length(all.size()), '\0');
    std::string got = expected;
    detail::write_base64_with(Base64Encoder::Scalar, all, expected.data());
    detail::write_base64_with(encoder, all, got.data());
    ASSERT_EQ(got, expected);
  }
#if defined(__x86_64__)
  EXPECT_GT(tested, 0) << "every x86-64 CPU this runs on has SSSE3";
#endif
  EXPECT_TRUE(detail::base64_encoder_available(detail::base64_encoder_in_use()));
}

TEST(MessageTest, EnvelopeWritesTheSameBytesForEveryMessageOfARun) {
  MessageFields fields{.applicant_id = "user \"q\"", .action_sequence = 1, .update = false,
                       .work_id = std::string("work--9"), .draft_id = std::string("draft-42")};
  const QueueEnvelope envelope(fields);
  std::string out = "old content that is longer than what follows, to be replaced";
  for (int sequence : {1, 12, 1234567}) {
    envelope.write(sequence, "bundle json", out);
    EXPECT_EQ(out, R"({"bundle_type": "QUEUE_BUNDLE", "applicant_id": "user \"q\"", "action_sequence": )" +
                       std::to_string(sequence) +
                       R"(, "entities_types": [], "content": "YnVuZGxlIGpzb24=", "update": false, )"
                       R"("draft_id": "draft-42", "work_id": "work--9"})");
    fields.action_sequence = sequence;
    EXPECT_EQ(out, queue_message(fields, "bundle json"));
  }
}

}  // namespace
}  // namespace kfc::sinks
