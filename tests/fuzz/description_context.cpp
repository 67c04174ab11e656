// An indicator's description is the Kaspersky context ("actors=…;geo=…;threat_score=…"): every
// transform reads it (actors, sectors, locations, malware, reports, score), then the description
// policy. The indicator's name is picked from the input's length so every IoC branch runs. The
// result is written as the dry run prints it (json.dumps) and as the sinks send it: the dry-run text
// must be ASCII-only JSON that parses again, whatever bytes the description held.
#include <rapidjson/document.h>

#include "fuzz_support.h"
#include "kfc/mapping/mapper.h"
#include "kfc/stix/python_json.h"

namespace {

using namespace kfc;

mapping::Mapper& mapper() {
  static mapping::Mapper instance([] {
    mapping::MappingOptions options;
    options.threat_score_from_description = true;
    options.label_format = LabelFormat::Both;
    return options;
  }());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  const std::string_view description = fuzz::as_text(data, size);
  static const char* const kIndicators[][2] = {
      {"IP", "[ipv4-addr:value = '203.0.113.7']"},
      {"URL", "[url:value LIKE 'http://%.evil_site.example/%']"},
      {"Hash", "[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']"},
      {"Exploit", "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']"},
  };
  const auto& [name, pattern] = kIndicators[size % 4];
  rapidjson::Document batch(rapidjson::kArrayType);
  auto& a = batch.GetAllocator();
  batch.PushBack(fuzz::indicator(name, pattern, description, a), a);
  mapper().collect(batch[0], a, "TAXII_Demo_APT_Hash_Data_Feed");
  rapidjson::Document out;
  mapper().transform(batch, out);
  mapper().apply_description_policy(out, nullptr);
  const std::string printed = stix::python_dumps(out);
  for (const char c : printed)
    if (static_cast<unsigned char>(c) >= 0x80) __builtin_trap();  // json.dumps escapes every non-ASCII byte
  rapidjson::Document reread;
  if (reread.Parse(printed.c_str(), printed.size()).HasParseError()) __builtin_trap();
  if (stix::compact_json(out).empty()) __builtin_trap();
  return 0;
}
