#pragma once

// The in-memory dedup index of a port: 128-bit hashes of (source, id) with their arrival time
// and stored position, in 64 shards of two generations (open addressing, linear probing).
// A generation is dropped whole once all its entries are older than the window, so expiry costs
// nothing per event. An entry is *pending* while its first submission is being appended: a
// concurrent submission of the same event waits for it instead of storing it twice.
// Thread-safe: every method may be called concurrently.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace loom::ingest {

struct DedupKey {
  uint64_t h1 = 0;
  uint64_t h2 = 0;
};

class DedupIndex {
 public:
  enum class Claim : uint8_t { kNew, kDuplicate, kPending };

  DedupIndex(int64_t window_micros, size_t max_entries);
  ~DedupIndex();

  // kDuplicate (with the stored position) if the key arrived within the window; kPending if
  // another submission of it is being appended; else inserts a pending entry and returns kNew:
  // the caller must then call Complete or Abandon.
  Claim TryClaim(const DedupKey& key, int64_t now, int32_t* partition, int64_t* offset);
  void Complete(const DedupKey& key, int32_t partition, int64_t offset);

  // The answer of TryClaim for one key of a batch.
  struct ClaimResult {
    Claim claim = Claim::kNew;
    int32_t partition = -1;
    int64_t offset = -1;
  };
  // TryClaim for every key, in order, locking each shard once: the same answers as calling
  // TryClaim on each key in turn (a key repeated in the batch is kNew once, then kPending).
  // out->size() becomes keys.size().
  void TryClaimBatch(std::span<const DedupKey> keys, int64_t now, std::vector<ClaimResult>* out);
  // Complete for every key (with its partition and offset), locking each shard once.
  struct Stored {
    DedupKey key;
    int32_t partition = 0;
    int64_t offset = 0;
  };
  void CompleteBatch(std::span<const Stored> stored);
  void Abandon(const DedupKey& key);
  // Blocks while the key is pending. True with the stored position, false if it was abandoned.
  bool WaitStored(const DedupKey& key, int32_t* partition, int64_t* offset);
  // Restores an entry at Open (rebuild from the log); ignored when already outside the window.
  void Restore(const DedupKey& key, int64_t arrival, int64_t now, int32_t partition,
               int64_t offset);

  uint64_t entries() const;
  uint64_t early_evictions() const;

 private:
  struct Shard;
  Shard& ShardFor(const DedupKey& key);
  // Stable order of `n` items by shard: (*order)[begin[s] .. begin[s + 1]) are shard s's.
  template <typename KeyOf>
  static void GroupByShard(size_t n, KeyOf key_of, std::vector<uint32_t>* order,
                           std::vector<uint32_t>* begin);
  int64_t window_;
  size_t max_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace loom::ingest
