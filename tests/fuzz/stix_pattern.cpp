// STIX patterns as the mapping reads them: the hand-written equivalents of the reference's regular
// expressions, then a whole indicator with that pattern through the mapping (observables, names).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fuzz_support.h"
#include "kfc/mapping/mapper.h"
#include "pattern.h"

namespace {

using namespace kfc;

void map_indicator(std::string_view pattern, const char* name) {
  static mapping::Mapper mapper(mapping::MappingOptions{});
  rapidjson::Document batch(rapidjson::kArrayType);
  auto& a = batch.GetAllocator();
  batch.PushBack(fuzz::indicator(name, pattern, "actors=APT;geo=de;threat_score=80", a), a);
  mapper.collect(batch[0], a, "TAXII_Demo_APT_Hash_Data_Feed");
  rapidjson::Document out;
  mapper.transform(batch, out);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  out.Accept(writer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  const std::string_view pattern = fuzz::as_text(data, size);
  (void)mapping::main_observable_type(pattern);
  (void)mapping::first_quoted_token(pattern);
  (void)mapping::text_before_first_quote(pattern);
  (void)mapping::is_ipv4_literal(pattern);
  std::size_t hashes = 0;
  mapping::for_each_hash_match(pattern, [&](std::string_view algorithm, std::string_view value) {
    hashes += algorithm.size() + value.size() + mapping::hash_length(algorithm);
  });
  static const char* const kNames[] = {"IP", "URL", "Hash", "Exploit", "Domain"};
  map_indicator(pattern, kNames[size % 5]);
  return 0;
}
