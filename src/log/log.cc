#include "log/log.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <queue>

#include "log/batch.h"
#include "log/partition.h"
#include "log/partition_reader.h"

namespace loom::log {
namespace {

constexpr std::string_view kMetaFile = "LOG";

std::string PartitionDir(const std::string& dir, int32_t p) {
  char name[32];
  std::snprintf(name, sizeof(name), "partition-%05d", p);
  return JoinPath(dir, name);
}

Status CheckOptions(const LogOptions& o) {
  if (o.fs == nullptr || o.clock == nullptr) return InvalidArgument("log options: fs and clock");
  if (o.partitions < 1 || o.partitions > 65536) {
    return InvalidArgument("log options: partitions must be in [1, 65536], got " +
                           std::to_string(o.partitions));
  }
  if (o.segment_max_bytes < 1024) return InvalidArgument("log options: segment_max_bytes < 1024");
  if (o.index_interval_bytes == 0) return InvalidArgument("log options: index_interval_bytes 0");
  if (o.fsync == FsyncPolicy::kInterval && o.fsync_interval.count() <= 0) {
    return InvalidArgument("log options: fsync_interval must be positive");
  }
  if (o.retention_check_interval.count() <= 0) {
    return InvalidArgument("log options: retention_check_interval must be positive");
  }
  return Status::Ok();
}

// Opens or creates the LOG file that fixes the partition count and whether batches are sealed.
Status CheckMeta(FileSystem& fs, const std::string& dir, int32_t partitions, bool encrypted) {
  const std::string path = JoinPath(dir, kMetaFile);
  const std::string plain = "loom-log 1\npartitions " + std::to_string(partitions) + "\n";
  const std::string sealed = plain + "encryption aes-256-gcm\n";
  const std::string& want = encrypted ? sealed : plain;
  if (!fs.FileExists(path)) {
    LOOM_RETURN_IF_ERROR(fs.CreateDirs(dir));
    LOOM_RETURN_IF_ERROR(fs.SyncDir(DirName(dir)));
    return WriteFileAtomically(fs, path, want);
  }
  LOOM_ASSIGN_OR_RETURN(std::string have, ReadFileToString(fs, path));
  if (have == want) return Status::Ok();
  if (have == sealed) {
    return FailedPrecondition(path +
                              ": the log is encrypted and no key was given (is the product's "
                              "master key configured?)");
  }
  if (have == plain) {
    return FailedPrecondition(path +
                              ": the log was created unencrypted; it cannot be opened with a key "
                              "(the product's classification was raised after data was written)");
  }
  if (!have.starts_with("loom-log 1\npartitions ")) {
    return DataLoss(path + ": not a Loom log meta file");
  }
  return InvalidArgument(path + ": the log has " + have.substr(22, have.find('\n', 22) - 22) +
                         " partitions, the options ask for " + std::to_string(partitions));
}

// Thread-safe: all state is the partitions, which are.
class LogImpl final : public Log {
 public:
  LogImpl(LogOptions options, std::vector<std::unique_ptr<Partition>> parts)
      : options_(std::move(options)), parts_(std::move(parts)) {}
  ~LogImpl() override { (void)Close(); }

  int32_t partitions() const override { return static_cast<int32_t>(parts_.size()); }

  Result<AppendResult> Append(int32_t partition, std::span<const Record> records) override {
    struct Waiter {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Result<AppendResult>> result;
    } w;
    AppendAsync(partition, records, [&w](Result<AppendResult> r) {
      std::lock_guard l(w.mu);
      w.result.emplace(std::move(r));
      w.cv.notify_one();
    });
    std::unique_lock l(w.mu);
    w.cv.wait(l, [&] { return w.result.has_value(); });
    return std::move(*w.result);
  }

  void AppendAsync(int32_t partition, std::span<const Record> records,
                   AppendCallback done) override {
    Status st = CheckPartition(partition);
    std::vector<EncodedBatch> batches;
    if (st.ok()) {
      st = EncodeBatches(records, options_.compression, options_.zstd_level, &batches);
    }
    if (!st.ok()) {
      done(st);
      return;
    }
    parts_[partition]->Enqueue(std::move(batches), std::move(done));
  }

  Result<Offset> StartOffset(int32_t partition) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    return parts_[partition]->StartOffset();
  }
  Result<Offset> EndOffset(int32_t partition) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    return parts_[partition]->EndOffset();
  }

  Result<std::unique_ptr<Reader>> NewReader(int32_t partition, Offset from,
                                            std::optional<Offset> end) const override {
    return MakeReader(partition, from, end, {});
  }

  Result<ReadResult> Read(int32_t partition, Offset from, const ReadOptions& options,
                          const RecordVisitor& visit) const override {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r, MakeReader(partition, from, options.end, {}));
    return Drain(*r, options, visit);
  }

  Result<Offset> OffsetForTimestamp(int32_t partition, TimestampMicros t) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    const Partition& p = *parts_[partition];
    TimeFilter f{t, std::numeric_limits<int64_t>::max(), {}};
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r, MakeReader(partition, p.StartOffset(), {}, f));
    RecordView rec;
    LOOM_ASSIGN_OR_RETURN(bool found, r->Next(&rec));
    return found ? rec.offset : r->end();
  }

  Result<ReadResult> ReadTimeRange(int32_t partition, TimestampMicros t0, TimestampMicros t1,
                                   const ReadOptions& options,
                                   const RecordVisitor& visit) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    if (t0 >= t1) return ReadResult{parts_[partition]->StartOffset(), true, 0, 0};
    TimeFilter f{t0, t1, options.max_lateness_micros};
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r,
                          MakeReader(partition, parts_[partition]->StartOffset(), options.end, f));
    return Drain(*r, options, visit);
  }

  Result<MergedReadResult> ReadMerged(std::span<const Offset> from, const ReadOptions& options,
                                      const MergedRecordVisitor& visit) const override {
    if (from.size() != parts_.size()) {
      return InvalidArgument("merged read: " + std::to_string(from.size()) + " start offsets for " +
                             std::to_string(parts_.size()) + " partitions");
    }
    std::vector<std::unique_ptr<Reader>> readers;
    std::vector<RecordView> heads(parts_.size());
    using Item = std::pair<TimestampMicros, int32_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
    for (int32_t p = 0; p < partitions(); ++p) {
      LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r, MakeReader(p, from[p], {}, {}));
      LOOM_ASSIGN_OR_RETURN(bool has, r->Next(&heads[p]));
      if (has) heap.emplace(heads[p].timestamp, p);
      readers.push_back(std::move(r));
    }
    MergedReadResult out;
    size_t bytes = 0;
    bool stopped = false;
    while (!heap.empty() && !stopped) {
      if (out.records >= options.max_records || bytes >= options.max_bytes) break;
      int32_t p = heap.top().second;
      heap.pop();
      out.records++;
      bytes += heads[p].key.size() + heads[p].value.size();
      stopped = !visit(p, heads[p]);
      LOOM_ASSIGN_OR_RETURN(bool has, readers[p]->Next(&heads[p]));
      if (has) heap.emplace(heads[p].timestamp, p);
    }
    // A partition whose head was read but not visited resumes at that head.
    out.next.resize(parts_.size());
    bool all_done = true;
    for (int32_t p = 0; p < partitions(); ++p) {
      bool pending = false;
      for (auto copy = heap; !copy.empty(); copy.pop()) pending |= copy.top().second == p;
      out.next[p] = pending ? heads[p].offset : readers[p]->position();
      all_done &= out.next[p] >= readers[p]->end();
    }
    out.end_of_stream = all_done;
    return out;
  }

  Status WaitFor(int32_t partition, Offset offset,
                 std::chrono::milliseconds timeout) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    return parts_[partition]->WaitFor(offset, timeout);
  }

  Status EnforceRetention() override {
    Status first;
    for (auto& p : parts_) {
      Status st = p->EnforceRetention();
      if (first.ok()) first = st;
    }
    return first;
  }

  Status PartitionHealth(int32_t partition) const override {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    return parts_[partition]->Health();
  }

  Status Close() override {
    Status first;
    for (auto& p : parts_) {
      Status st = p->Close();
      if (first.ok()) first = st;
    }
    return first;
  }

 private:
  Status CheckPartition(int32_t p) const {
    if (p < 0 || p >= partitions()) {
      return InvalidArgument("partition " + std::to_string(p) + " out of range [0, " +
                             std::to_string(partitions()) + ")");
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<Reader>> MakeReader(int32_t partition, Offset from,
                                             std::optional<Offset> end,
                                             std::optional<TimeFilter> filter) const {
    LOOM_RETURN_IF_ERROR(CheckPartition(partition));
    const Partition& p = *parts_[partition];
    Offset last = p.EndOffset();
    Offset stop = end.value_or(last);
    if (stop > last) {
      return InvalidArgument("read end " + std::to_string(stop.value) + " is past the end offset " +
                             std::to_string(last.value) + " of partition " +
                             std::to_string(partition));
    }
    if (from > stop) {
      return InvalidArgument("read from offset " + std::to_string(from.value) +
                             " is past the end " + std::to_string(stop.value) + " of partition " +
                             std::to_string(partition));
    }
    if (from < p.StartOffset()) {
      return FailedPrecondition("offset " + std::to_string(from.value) + " of partition " +
                                std::to_string(partition) +
                                " was deleted by retention; the partition starts at " +
                                std::to_string(p.StartOffset().value));
    }
    return std::unique_ptr<Reader>(std::make_unique<PartitionReader>(&p, from, stop, filter));
  }

  static Result<ReadResult> Drain(Reader& r, const ReadOptions& options,
                                  const RecordVisitor& visit) {
    ReadResult out;
    RecordView rec;
    while (out.records < options.max_records && out.bytes < options.max_bytes) {
      LOOM_ASSIGN_OR_RETURN(bool has, r.Next(&rec));
      if (!has) break;
      out.records++;
      out.bytes += rec.key.size() + rec.value.size();
      if (!visit(rec)) break;
    }
    out.next = r.position();
    out.end_of_stream = out.next >= r.end();
    return out;
  }

  const LogOptions options_;
  std::vector<std::unique_ptr<Partition>> parts_;
};

}  // namespace

Result<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options) {
  LOOM_RETURN_IF_ERROR(CheckOptions(options));
  FileSystem& fs = *options.fs;
  LOOM_RETURN_IF_ERROR(CheckMeta(fs, dir, options.partitions, options.cipher != nullptr));
  std::vector<std::unique_ptr<Partition>> parts;
  bool created = false;
  for (int32_t p = 0; p < options.partitions; ++p) {
    std::string pdir = PartitionDir(dir, p);
    created |= !fs.FileExists(pdir);
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Partition> part, Partition::Open(p, pdir, options));
    parts.push_back(std::move(part));
  }
  if (created) LOOM_RETURN_IF_ERROR(fs.SyncDir(dir));  // the new partition directories
  return std::unique_ptr<Log>(std::make_unique<LogImpl>(options, std::move(parts)));
}

}  // namespace loom::log
