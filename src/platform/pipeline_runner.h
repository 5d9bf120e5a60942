#pragma once

// platform/-internal: how a pipeline run reaches the ports (pipeline_run.cc, pipeline_stream.cc).
// Every function takes the Platform whose private parts it uses; none keeps state of its own.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "platform/open_stream.h"
#include "platform/platform.h"

namespace loom::platform {

struct Platform::PipelineRunner {
  // What a rebuild pins: the exact input ranges of an output version, or the inputs at a time.
  struct Pins {
    std::vector<pipeline::InputRange> ranges;
    std::optional<TimestampMicros> as_of;
    // Stream inputs end at their logs' end offsets, without bringing their SQL tiers up to
    // date: the run reads them as slices (engine::SliceStream), not through the tier.
    bool untiered = false;
  };
  // The inputs of one run, bound: each alias's SELECT over exactly the data read, its columns,
  // and the ranges recorded as lineage.
  struct Bound {
    std::vector<pipeline::BoundInput> inputs;
    std::map<std::string, std::vector<std::string>> columns;
    std::vector<pipeline::InputRange> ranges;
    std::map<std::string, std::string> alias_to_input;  // alias -> PortKey
  };

  // The caller a domain's pipelines run as.
  static Caller ServiceCaller(const std::string& domain);
  // Checks, before anything runs, that the transform's output and inputs exist and that the
  // service principal may read every input: kPermissionDenied / kNotFound / kInvalidArgument
  // naming the input (alias, address) and the descriptor line.
  static Status Preflight(Platform& p, const Caller& service, const spec::DataProduct& product);
  // Binds every input at its current data (or as pinned). A table input without a version
  // fails with kFailedPrecondition.
  static Result<Bound> BindInputs(Platform& p, const spec::DataProduct& product, const Pins* pins);
  // Runs `sql` in the service principal's session and publishes its rows as the next version
  // of `port` (a table port) with `inputs` recorded in the manifest.
  static Result<table::Manifest> PublishSelect(Platform& p, const Caller& service,
                                               const Address& port, const std::string& sql,
                                               const std::vector<pipeline::InputRange>& inputs,
                                               const std::string& description);
  // Records lineage, column lineage and OpenLineage events of a finished run.
  static Status Finish(Platform& p, const spec::DataProduct& product, pipeline::Run& run,
                       const Bound* bound, const std::optional<pipeline::Progress>& progress);

  static Result<pipeline::Run> Batch(Platform& p, const spec::DataProduct& product,
                                     const std::string& trigger, const Pins* pins);
  // One streaming step: everything new on the stream input since the committed progress.
  static Result<pipeline::Run> StreamingStep(Platform& p, const spec::DataProduct& product,
                                             const std::string& trigger);
  // A streaming step's result rows as CloudEvents: JSON Lines request bodies within the ingest
  // limits, and where each event came from (pipeline_stream_output.cc).
  struct OutputEvents {
    struct Body {
      std::string text;
      std::vector<uint32_t> events;  // their indices in `places`
    };
    // The bodies by lane. The events of one output partition key are all in one lane, in the
    // result's order; the lanes are published side by side (their appends share the output
    // log's syncs), the bodies of one lane one after the other.
    std::vector<std::vector<Body>> lanes;
    std::string input_key;
    int64_t first_offset = 0;
    struct Place {
      int32_t partition = -1;  // -1: the result does not say (the id is first_offset/index)
      int64_t offset = 0;
      int32_t n = 0;  // the n-th row of that input event (0: the first)
    };
    std::vector<Place> places;
    // ToEvents stopped at a second row of one input event (stop_on_tie): nothing is written.
    bool tied = false;
    size_t size() const { return places.size(); }
    // "<input port>/<partition>/<offset>[#n]": stable, so a replayed step is de-duplicated.
    std::string Id(size_t i) const;
  };
  // The rows of a result whose __loom_p/__loom_o columns (first, when present) give each
  // event's input place and __loom_t its time, as events of `source` and `type`, written from
  // the cells' JSON literals (TIMESTAMP WITH TIME ZONE cells as RFC 3339 text). Rows of one
  // input event must be adjacent and are numbered in their order; with `stop_on_tie`, a second
  // row of one input event stops it instead (OutputEvents::tied), so that the caller orders
  // such a result by value too. Events go to `lanes` lanes by the values of the output port's
  // `key_fields` (round robin without a key). kResourceExhausted past `max_rows`.
  static Result<OutputEvents> ToEvents(engine::QueryResult& result, const std::string& input_key,
                                       int64_t first_offset, const Address& source,
                                       const std::string& type, size_t max_rows, bool stop_on_tie,
                                       const std::vector<std::string>& key_fields, size_t lanes);
  // What publishing them into the output port gave: counts, the first rejection ("event ID:
  // reason"), and the output offsets [begin, end) written per partition.
  struct StepOutput {
    int64_t accepted = 0, duplicates = 0, quarantined = 0;
    std::string rejection;
    std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
  };
  // Publishes the lanes side by side (Platform::OutputWorkers); the first failure is returned.
  static Result<StepOutput> PublishOutput(Platform& p, const Caller& service, const Address& port,
                                          const OutputEvents& events);
  // Whether an on-input pipeline's inputs differ from those its last successful run read.
  static Result<bool> InputsChanged(Platform& p, const spec::DataProduct& product,
                                    const pipeline::Run& last);
};

}  // namespace loom::platform
