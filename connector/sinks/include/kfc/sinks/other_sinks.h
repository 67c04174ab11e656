#pragma once
// The sinks that are not RabbitMQ: OpenCTI's GraphQL stixBundlePush, a directory of bundle files,
// and standard output (the dry run).
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "kfc/opencti/client.h"
#include "kfc/sinks/sink.h"

namespace kfc::sinks {

// queue_protocol api: each bundle in one stixBundlePush call (confirmed when the call returns);
// no expectations are added (the platform does). Platform errors become DeliveryError.
std::unique_ptr<Sink> make_graphql_sink(opencti::OpenCtiClient& client, std::string connector_id);

// connector.output directory: one file per bundle, written to a temporary name, fsynced, renamed,
// mode 0600, named <UTC yyyymmddThhmmssZ>-<run serial>-<ticket, 8 digits>-<bundle id>.json so names
// sort in delivery order. The file is the bundle JSON. A full disk or missing directory is a
// DeliveryError naming connector.output_dir; the partial temporary file is removed.
// `retention_days` > 0 (connector.send_to_directory_retention): at the start of each run, bundle
// files (*.json, not hidden) last modified longer ago than that are removed.
std::unique_ptr<Sink> make_directory_sink(std::filesystem::path directory, const Clock& clock, int retention_days = 0);

// connector.send_to_directory with the OpenCTI output: every bundle is also written by `mirror` (a
// directory sink) before `primary` gets it; tickets and confirmations are the primary's.
std::unique_ptr<Sink> make_mirror_sink(std::unique_ptr<Sink> primary, std::unique_ptr<Sink> mirror);

// The dry run: every object as one JSON line, bundle after bundle. `write_lines` formats a bundle
// (default: compact JSON lines; the run loop passes Python json.dumps lines when it has them).
using LineWriter = std::function<void(const stix::Bundle&, std::ostream&)>;
void write_compact_lines(const stix::Bundle& bundle, std::ostream& out);
std::unique_ptr<Sink> make_stdout_sink(std::ostream& out, LineWriter write_lines = write_compact_lines);

}  // namespace kfc::sinks
