// The collection step (README "Collection step"): labels and valid_until of each feed object as it
// is read, before any transform.
#include "kfc/stix/pystr.h"
#include "mapper_impl.h"

namespace kfc::mapping {

void Mapper::Impl::collect(Value& obj, Allocator& a, std::string_view title) {
  if (!obj.IsObject()) return problem(Problem::NotAnObject, {});
  const auto type = json::string_member(obj, "type");
  if (!type || (*type != "indicator" && *type != "observable")) return;
  const std::string_view id = json::string_member(obj, "id").value_or("");
  if (title != feed_title || feed_variants.empty()) {
    feed_title = std::string(title);
    std::string_view t = title;
    if (t.starts_with("TAXII_")) t.remove_prefix(6);
    const std::string label = kfc::stix::py_lower(t);
    feed_variants = variants(label, "kaspersky:" + label);
  }
  Value out(rapidjson::kArrayType);
  auto append_value = [&](Value& v) {
    for (const auto& e : out.GetArray())
      if (e == v) return;
    out.PushBack(v, a);
  };
  if (Value* in = json::member(obj, "labels")) {
    if (in->IsArray()) {
      for (auto& label : in->GetArray()) {
        if (!label.IsString()) {
          problem(Problem::NonStringLabel, id);
          append_value(label);
        } else if (json::view(label) == "malicious-activity") {
          for (const auto& v : malicious_variants) json::append_unique(out, v, a);
        } else {
          append_value(label);
        }
      }
    } else if (in->IsString()) {  // a single label sent as a string: keep it as one
      problem(Problem::NonStringField, id);
      if (json::view(*in) == "malicious-activity")
        for (const auto& v : malicious_variants) json::append_unique(out, v, a);
      else
        append_value(*in);
    } else if (!in->IsNull()) {
      problem(Problem::NonStringField, id);
    }
  }
  for (const auto& v : feed_variants) json::append_unique(out, v, a);
  json::set(obj, "labels", std::move(out), a);

  const auto valid_until = obj.FindMember("valid_until");
  if (valid_until != obj.MemberEnd()) {
    if (!valid_until->value.IsString())
      problem(Problem::NonStringField, id);
    else if (json::view(valid_until->value).starts_with("2100-"))
      obj.EraseMember(valid_until);  // erase keeps the order of the other keys
  }
}

}  // namespace kfc::mapping
