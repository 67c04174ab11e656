// Context expansion: observables from the indicator's pattern (`kaspersky.create_observables`;
// README "Context expansion").
#include <algorithm>

#include "kfc/stix/ids.h"
#include "mapper_impl.h"
#include "pattern.h"

namespace kfc::mapping {

Value Mapper::Impl::observable(Batch& b, Kind kind, std::string_view id) {
  Value o(rapidjson::kObjectType);
  o.AddMember("type", json::ref(kind_type(kind)), b.a);
  o.AddMember("spec_version", "2.1", b.a);
  o.AddMember("id", json::copy(id, b.a), b.a);
  return o;
}

// Common tail of every observable.
void Mapper::Impl::observable_tail(Batch& b, Value& o, const Value& ind) {
  o.AddMember("x_opencti_created_by_ref", json::ref(kAuthorId), b.a);
  if (const Value* d = json::member(ind, "description")) {
    if (d->IsString()) o.AddMember("x_opencti_description", json::share_value(*d, b.a), b.a);
  } else {
    o.AddMember("x_opencti_description", "", b.a);
  }
  if (const Value* l = json::member(ind, "labels"); l && l->IsArray() && !l->Empty())
    o.AddMember("x_opencti_labels", json::share_value(*l, b.a), b.a);
  if (const Value* s = json::member(ind, "x_opencti_score"); s && !s->IsNull())
    o.AddMember("x_opencti_score", json::copy_value(*s, b.a), b.a);
}

// Drops hashes of the wrong length (stix2 would have aborted the run).
bool Mapper::Impl::validate(Hashes& h, std::string_view where) {
  const auto bad = std::remove_if(h.begin(), h.end(), [](const auto& e) {
    return e.second.size() != hash_length(e.first);
  });
  if (bad != h.end()) {
    problem(Problem::InvalidHashLength, where);
    h.erase(bad, h.end());
  }
  return !h.empty();
}

void Mapper::Impl::file_observable(Batch& b, Hashes& h, const Value& ind, Items& objs) {
  std::string id;
  for (const std::string_view preferred : {"MD5", "SHA-1", "SHA-256"}) {
    const auto it = std::find_if(h.begin(), h.end(), [&](const auto& e) { return e.first == preferred; });
    if (it != h.end()) {
      id = kfc::stix::file_id_from_one(it->first, it->second);
      break;
    }
  }
  Value o = observable(b, Kind::File, id);
  Value hashes(rapidjson::kObjectType);
  for (const auto& [alg, value] : h) hashes.AddMember(json::copy(alg, b.a), json::copy(value, b.a), b.a);
  o.AddMember("hashes", hashes, b.a);
  observable_tail(b, o, ind);
  objs.push_back({Kind::File, std::move(id), std::move(o)});
}

void Mapper::Impl::put_hash(Hashes& h, std::string_view alg, std::string_view value) {
  for (auto& e : h)
    if (e.first == alg) {
      e.second = value;  // a later match of the same algorithm wins, position kept
      return;
    }
  h.emplace_back(alg, value);
}

void Mapper::Impl::observables(Batch& b, const Value& ind, std::string_view where, Items& objs) {
  const auto pattern = json::string_member(ind, "pattern");
  const auto name = json::string_member(ind, "name");
  if (!pattern || !name) return;
  if (*name == "Hash") {
    Hashes h;
    for_each_hash_match(*pattern, [&](std::string_view alg, std::string_view value) { put_hash(h, alg, value); });
    if (h.empty()) return problem(Problem::UnknownHashPattern, where);
    if (validate(h, where)) file_observable(b, h, ind, objs);
  } else if (*name == "Exploit") {
    std::vector<Hashes> groups;
    Hashes current;
    bool any = false;
    auto has_md5 = [](const Hashes& g) {
      return std::any_of(g.begin(), g.end(), [](const auto& e) { return e.first == "MD5"; });
    };
    for_each_hash_match(*pattern, [&](std::string_view alg, std::string_view value) {
      any = true;
      if (alg == "MD5" && has_md5(current)) {
        groups.push_back(std::move(current));
        current.clear();
      }
      put_hash(current, alg, value);
    });
    if (has_md5(current)) groups.push_back(std::move(current));
    if (!any) return problem(Problem::UnknownHashPattern, where);
    for (auto& g : groups)
      if (validate(g, where)) file_observable(b, g, ind, objs);
  } else if (*name == "URL" || *name == "IP") {
    const auto first = first_quoted_token(*pattern);
    if (!first) return problem(Problem::PatternWithoutQuote, where);
    Kind kind = Kind::Url;
    if (is_ipv4_literal(*first))
      kind = Kind::Ipv4;
    else if (pattern->find("domain-name:value") != std::string_view::npos)
      kind = Kind::DomainName;
    std::string id = kfc::stix::value_sco_id(kind_type(kind), *first);
    Value o = observable(b, kind, id);
    o.AddMember("value", json::copy(*first, b.a), b.a);
    observable_tail(b, o, ind);
    objs.push_back({kind, std::move(id), std::move(o)});
  }
}

}  // namespace kfc::mapping
