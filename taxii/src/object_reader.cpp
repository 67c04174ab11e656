// Paged object reads. TAXII 2.1 follows `next` while `more`, and when it must resume (a failed page,
// a lost paging session, `more` without `next`) it restarts from just before the last page's
// X-TAXII-Date-Added-Last, dropping the re-read duplicates. TAXII 2.0 pages with `Range: items=a-b`.
#include <cstdint>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "client_impl.h"

namespace kfc::taxii {
namespace {

using namespace std::chrono_literals;

// What one page of either version looks like once fetched.
struct FetchedPage {
  std::unique_ptr<detail::JsonBody> body;        // null for an empty answer (404, 416)
  const rapidjson::Value* objects = nullptr;     // the objects array, if any
  bool more = false;
  std::optional<std::string> next;
  std::optional<Timestamp> first;
  std::optional<Timestamp> last;
  std::optional<std::size_t> range_end;  // 2.0: last index of Content-Range
  std::optional<std::size_t> range_total;
};

std::optional<Timestamp> header_timestamp(const http::Response& response, std::string_view name) {
  auto value = response.header(name);
  if (!value) return std::nullopt;
  auto parsed = parse_timestamp(*value);
  if (!parsed) spdlog::warn("TAXII: ignoring unparsable {} header '{}'", name, *value);
  return parsed;
}

std::string join_values(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ",") + http::url_encode(value);
  return out;
}

void add_param(std::string& query, std::string_view name, const std::string& encoded_value) {
  query += query.empty() ? '?' : '&';
  query += name;
  query += '=';
  query += encoded_value;
}

// The filters every request of a read carries (servers reject a `next` whose filters changed).
std::string filter_query(const ObjectFilter& filter, std::optional<Timestamp> added_after, int limit, bool v21) {
  std::string query;
  if (added_after) add_param(query, "added_after", http::url_encode(format_timestamp(*added_after)));
  if (limit > 0 && v21) add_param(query, "limit", std::to_string(limit));
  if (!filter.ids.empty()) add_param(query, "match%5Bid%5D", join_values(filter.ids));
  if (!filter.types.empty()) add_param(query, "match%5Btype%5D", join_values(filter.types));
  if (!filter.versions.empty()) add_param(query, "match%5Bversion%5D", join_values(filter.versions));
  if (!filter.spec_versions.empty() && v21) {
    add_param(query, "match%5Bspec_version%5D", join_values(filter.spec_versions));
  }
  return query;
}

// Turns a fetched body into objects; throws UnreadableBody (retried) when it is not a usable page.
void read_envelope(FetchedPage& page, http::Response& response, const std::string& shown_url, bool v21,
                   int max_object_depth) {
  const std::string content_type = response.header("content-type").value_or("");
  auto unreadable = [&](const std::string& why, std::optional<std::size_t> offset = {}) {
    return detail::UnreadableBody("page " + shown_url + " " + why, content_type, offset);
  };
  if (!content_type.empty() && !detail::is_json_media_type(content_type)) {
    throw unreadable("came as '" + content_type + "', not TAXII JSON");
  }
  json::ParseError error;
  page.body = detail::parse_json(std::move(response.body), max_object_depth, error);
  if (!page.body) throw unreadable("is not JSON: " + error.message, error.offset);
  const auto& doc = page.body->document;
  const std::string shape = v21 ? "a TAXII envelope" : "a STIX bundle";
  if (!doc.IsObject()) throw unreadable("is not " + shape, 0);
  if (auto objects = doc.FindMember("objects"); objects != doc.MemberEnd()) {
    if (!objects->value.IsArray()) throw unreadable("is not " + shape + ": 'objects' is not a list");
    page.objects = &objects->value;
  }
  if (v21) {
    if (auto more = doc.FindMember("more"); more != doc.MemberEnd()) {
      if (!more->value.IsBool()) throw unreadable("has a non-boolean 'more'");
      page.more = more->value.GetBool();
    }
    if (auto next = doc.FindMember("next"); next != doc.MemberEnd() && !next->value.IsNull()) {
      if (next->value.IsString()) {
        page.next = std::string(next->value.GetString(), next->value.GetStringLength());
      } else if (next->value.IsInt64()) {  // a number is read as its digits; anything else is ignored
        page.next = std::to_string(next->value.GetInt64());
      } else if (next->value.IsUint64()) {
        page.next = std::to_string(next->value.GetUint64());
      }
      if (page.next && page.next->empty()) page.next.reset();
    }
  }
  page.first = header_timestamp(response, "x-taxii-date-added-first");
  page.last = header_timestamp(response, "x-taxii-date-added-last");
}

// "items 0-99/1200" → end 99, total 1200 (total may be '*'). The end is believed only inside the
// window that was asked for (offset .. offset + size - 1): a server's number cannot move the read
// backwards, past what it was asked, or overflow the next offset.
void read_content_range(FetchedPage& page, const http::Response& response, std::size_t offset, std::size_t size) {
  auto value = response.header("content-range");
  if (!value) return;
  std::string_view text = *value;
  auto dash = text.find('-');
  auto slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return;
  const auto end = http::parse_count(text.substr(dash + 1, slash - dash - 1));
  if (end && *end >= offset && *end - offset < size) page.range_end = static_cast<std::size_t>(*end);
  if (const auto total = http::parse_count(text.substr(slash + 1))) {
    page.range_total = static_cast<std::size_t>(std::min<std::uint64_t>(*total, SIZE_MAX));
  }
}

// Delivers pages: drops malformed objects and re-read duplicates, watches for a stuck server,
// computes resume points, keeps the statistics.
class PageSink {
 public:
  PageSink(const ClientOptions& options, const PageCallback& on_page, ReadSummary& summary, std::string shown_url)
      : options_(options), on_page_(on_page), summary_(summary), shown_url_(std::move(shown_url)) {}

  // Returns false when the callback asked to stop.
  bool deliver(const FetchedPage& fetched) {
    Page page;
    page.number = summary_.stats.pages + 1;
    page.url = shown_url_;
    page.more = fetched.more;
    page.date_added_first = fetched.first;
    page.date_added_last = fetched.last;

    // `page_keys`: every valid object of this page. An object is new to the stall check when the
    // previous page did not carry it, and delivered unless this read already delivered it at the
    // boundary timestamp (a resume re-reads that timestamp group from its start).
    std::unordered_set<std::string> page_keys;
    bool fresh = false;
    if (fetched.objects != nullptr) {
      const json::ParseReport& parse_report = fetched.body->report;
      std::size_t index = 0;
      for (const auto& object : fetched.objects->GetArray()) {
        const json::ItemNote* note = parse_report.note(index++);
        if (auto problem = detail::object_problem(object, note, options_.max_object_depth)) {
          ++page.skipped;
          spdlog::warn("TAXII: skipped object {} of page {} of {}: {}", index, page.number, shown_url_, *problem);
          continue;
        }
        if (note != nullptr) report_repair(object, *note, index, page);
        auto [key, inserted] = page_keys.insert(detail::object_key(object));
        if (!previous_page_keys_.contains(*key)) fresh = true;
        if (!inserted || boundary_keys_.contains(*key)) {
          ++page.duplicates;
          continue;
        }
        page.objects.push_back(&object);
      }
    }

    const bool advanced = fetched.last && (!previous_last_ || *fetched.last > *previous_last_);
    if (fetched.more && !fresh && !advanced) {
      if (++stalled_ >= options_.max_stalled_pages) {
        throw StuckServerError(shown_url_, "TAXII server keeps answering 'more: true' for " + shown_url_ + " with " +
                                               std::to_string(stalled_) +
                                               " pages that bring nothing new; stopped reading this collection "
                                               "instead of looping — report it to the server's operator");
      }
    } else {
      stalled_ = 0;
    }

    remember_boundary(page_keys, advanced);
    if (fetched.last) resume_after_ = fetched.more ? *fetched.last - 1us : *fetched.last;
    page.resume_after = resume_after_;
    if (fetched.last) previous_last_ = fetched.last;
    if (!page_keys.empty()) previous_page_keys_ = std::move(page_keys);

    auto& stats = summary_.stats;
    ++stats.pages;
    stats.objects += page.objects.size();
    stats.skipped += page.skipped;
    stats.repaired += page.repaired;
    stats.duplicates += page.duplicates;
    summary_.resume_after = resume_after_;
    return on_page_(page);
  }

  void start_at(std::optional<Timestamp> added_after) {
    resume_after_ = added_after;
    summary_.resume_after = added_after;
  }
  std::optional<Timestamp> resume_after() const { return resume_after_; }
  std::optional<Timestamp> previous_last() const { return previous_last_; }

 private:
  // An object that arrived with invalid Unicode or a number beyond a double is delivered repaired;
  // said once, with its id (a re-read of the same page says it again).
  void report_repair(const rapidjson::Value& object, const json::ItemNote& note, std::size_t index, Page& page) {
    ++page.repaired;
    std::string what;
    if (note.unicode_repairs > 0) {
      what = std::to_string(note.unicode_repairs) + " invalid Unicode sequence(s) replaced by U+FFFD";
    }
    if (note.numbers_replaced > 0) {
      what += (what.empty() ? "" : ", ") + std::to_string(note.numbers_replaced) +
              " number(s) beyond a double replaced by null";
    }
    spdlog::warn("TAXII: object {} ({} of page {} of {}) delivered repaired: {}",
                 detail::string_member(object, "id").value_or("?"), index, page.number, shown_url_, what);
  }

  // The objects that may share the newest Date-Added-Last are those of every page since that
  // timestamp first appeared (a group can span pages); when it moves on, only this page's can.
  // Bounded: past the bound a resume may deliver some objects twice (harmless, never a loss).
  void remember_boundary(const std::unordered_set<std::string>& page_keys, bool advanced) {
    if (advanced) boundary_keys_.clear();
    for (const auto& key : page_keys) {
      if (boundary_keys_.size() >= options_.max_boundary_ids) break;
      boundary_keys_.insert(key);
    }
  }

  const ClientOptions& options_;
  const PageCallback& on_page_;
  ReadSummary& summary_;
  std::string shown_url_;
  std::unordered_set<std::string> previous_page_keys_;  // for the stall check
  std::unordered_set<std::string> boundary_keys_;       // for dropping re-read duplicates
  std::optional<Timestamp> previous_last_;
  std::optional<Timestamp> resume_after_;
  int stalled_ = 0;
};

// Where the next 2.1 request starts: the filters of the request that opened the paging session
// (its added_after) and, within the session, the server's `next`.
struct Cursor {
  std::optional<Timestamp> added_after;
  std::optional<std::string> next;
};

}  // namespace

ReadSummary read_objects_v21(detail::ClientCore& client, std::string_view collection_id, const std::string& objects_url,
                             const ObjectFilter& filter, const PageCallback& on_page) {
  ReadSummary summary;
  const std::string shown = http::redact_url(objects_url);
  const int limit = filter.limit > 0 ? filter.limit : client.options.page_limit;
  PageSink sink(client.options, on_page, summary, shown);
  sink.start_at(filter.added_after);
  Cursor cursor{filter.added_after, std::nullopt};

  struct StatsGuard {  // the client's totals include failed reads too
    detail::ClientCore& client;
    ReadStats& stats;
    ~StatsGuard() { client.totals += stats; }
  } guard{client, summary.stats};

  for (;;) {
    FetchedPage fetched = client.exchange.with_retries(shown, summary.stats, [&](int attempt) {
      if (attempt > 1 && cursor.next) {
        // Never replay a `next` after a failure: a one-shot server cursor has moved on and the
        // replay would skip the failed page. Resume from the last delivered position instead.
        cursor = Cursor{sink.resume_after(), std::nullopt};
      }
      std::string query = filter_query(filter, cursor.added_after, limit, true);
      if (cursor.next) add_param(query, "next", http::url_encode(*cursor.next));
      http::Response response;
      try {
        response = client.exchange.get(objects_url + query, media::kTaxii21, summary.stats);
      } catch (const ProtocolError& error) {
        // An expired or unknown paging session (medallion: 400). Resuming by timestamp cures it.
        if (cursor.next && error.status() == 400) {
          throw detail::RetryableFailure("the server no longer accepts its paging token (" + std::string(error.what()) +
                                         "); resuming from the last delivered page");
        }
        throw;
      } catch (const TokenRejectedError& rejected) {
        if (rejected.http_status() == 403) client.explain_forbidden(collection_id, objects_url);
        throw;
      }
      FetchedPage page;
      if (response.status == 404) {
        // Kaspersky's answer to an empty added_after window. Inside a session it may mean the
        // session is gone: resume by timestamp rather than conclude the collection ended.
        if (cursor.next) throw detail::RetryableFailure("HTTP 404 for a paging token; resuming by timestamp");
        return page;
      }
      if (response.status != 200 && response.status != 206) {
        throw ProtocolError(shown, response.status, detail::parse_error_body(response),
                            "TAXII server answered " + shown + " with unexpected HTTP " +
                                std::to_string(response.status));
      }
      read_envelope(page, response, shown, true, client.options.max_object_depth);
      return page;
    });

    if (!sink.deliver(fetched)) return summary;
    if (!fetched.more) break;

    if (fetched.next) {
      cursor.next = fetched.next;  // same filters as the request that opened the session
    } else if (fetched.last) {
      // `more` without `next`: continue by timestamp, from just before the last one so a group of
      // objects sharing it is completed (the re-read part is dropped as duplicates).
      cursor = Cursor{*fetched.last - 1us, std::nullopt};
    } else if (!sink.previous_last()) {
      throw StuckServerError(shown, "TAXII server answered 'more: true' for " + shown +
                                        " with neither 'next' nor X-TAXII-Date-Added-Last: it cannot be paged "
                                        "without skipping objects — report it to the server's operator");
    } else {
      cursor = Cursor{sink.resume_after(), std::nullopt};
    }
  }
  summary.completed = true;
  return summary;
}

ReadSummary read_objects_v20(detail::ClientCore& client, std::string_view collection_id, const std::string& objects_url,
                             const ObjectFilter& filter, const PageCallback& on_page) {
  ReadSummary summary;
  const std::string shown = http::redact_url(objects_url);
  const int configured = filter.limit > 0 ? filter.limit : client.options.page_limit;
  const std::size_t size = configured > 0 ? static_cast<std::size_t>(configured) : 1000;
  const std::string query = filter_query(filter, filter.added_after, 0, false);
  PageSink sink(client.options, on_page, summary, shown);
  sink.start_at(filter.added_after);

  struct StatsGuard {
    detail::ClientCore& client;
    ReadStats& stats;
    ~StatsGuard() { client.totals += stats; }
  } guard{client, summary.stats};

  std::size_t offset = 0;
  for (;;) {
    // Range paging is stateless: a failed page is simply asked for again.
    FetchedPage fetched = client.exchange.with_retries(shown, summary.stats, [&](int) {
      http::Headers range{{"Range", "items=" + std::to_string(offset) + "-" + std::to_string(offset + size - 1)}};
      http::Response response;
      try {
        response = client.exchange.get(objects_url + query, media::kStix20, summary.stats, range);
      } catch (const TokenRejectedError& rejected) {
        if (rejected.http_status() == 403) client.explain_forbidden(collection_id, objects_url);
        throw;
      }
      FetchedPage page;
      if (response.status == 404 || response.status == 416) return page;  // empty, or past the end
      if (response.status != 200 && response.status != 206) {
        throw ProtocolError(shown, response.status, detail::parse_error_body(response),
                            "TAXII server answered " + shown + " with unexpected HTTP " +
                                std::to_string(response.status));
      }
      read_envelope(page, response, shown, false, client.options.max_object_depth);
      const std::size_t count = page.objects ? page.objects->Size() : 0;
      if (response.status == 206) {
        read_content_range(page, response, offset, size);
        std::size_t next_offset = page.range_end ? *page.range_end + 1 : offset + count;
        page.more = count > 0 && (!page.range_total || next_offset < *page.range_total);
        page.range_end = next_offset;
      }
      return page;
    });
    if (!sink.deliver(fetched)) return summary;
    if (!fetched.more) break;
    offset = *fetched.range_end;
  }
  summary.completed = true;
  return summary;
}

}  // namespace kfc::taxii
