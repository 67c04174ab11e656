#pragma once
// The places the connector state lives between runs: OpenCTI's connector state (opencti output), a
// local file (directory/stdout outputs), or nowhere (dry run: read once, never written).
#include <cstddef>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "kfc/runner/state_store.h"

namespace kfc::runner {

// A JSON file, replaced atomically (temporary file, fsync, rename, fsync of the directory), so a
// kill at any instant leaves either the old or the new state. A missing file is the empty state.
class FileStateStore final : public StateStore {
 public:
  explicit FileStateStore(std::filesystem::path path);
  std::expected<ConnectorState, std::string> load() override;
  void save(const ConnectorState& state) override;
  std::string describe() const override;

 private:
  std::filesystem::path path_;
};

// Holds a state in memory; save() only replaces it (dry run, tests, `--state`).
class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(ConnectorState initial = {}, bool writable = true);
  std::expected<ConnectorState, std::string> load() override;
  void save(const ConnectorState& state) override;
  std::string describe() const override;
  std::size_t saves() const { return saves_; }

 private:
  ConnectorState state_;
  bool writable_;
  std::size_t saves_ = 0;
};

// OpenCTI's connector state, through two callables the OpenCTI client provides: `read` returns the
// platform's state string (empty after a reset from the UI), `write` stores one and forces a ping so
// it is persisted before returning.
class PlatformStateStore final : public StateStore {
 public:
  PlatformStateStore(std::function<std::string()> read, std::function<void(const std::string&)> write);
  std::expected<ConnectorState, std::string> load() override;
  void save(const ConnectorState& state) override;
  std::string describe() const override;

 private:
  std::function<std::string()> read_;
  std::function<void(const std::string&)> write_;
};

// Another connector's name for the run-level key, around any store: the generic TAXII mode reads
// the taxii2 connector's "last_run" (epoch seconds) as the run-level window start and writes it back
// under that name, so either connector continues where the other stopped. A "last_added" found in
// the stored state is kept as it is.
class RunKeyStateStore final : public StateStore {
 public:
  RunKeyStateStore(std::unique_ptr<StateStore> inner, std::string run_key);
  std::expected<ConnectorState, std::string> load() override;
  void save(const ConnectorState& state) override;
  std::string describe() const override { return inner_->describe(); }

 private:
  std::unique_ptr<StateStore> inner_;
  std::string run_key_;
};

// `--state`: a JSON text, or the path of a file holding one.
std::expected<ConnectorState, std::string> state_from_argument(const std::string& argument);

}  // namespace kfc::runner
