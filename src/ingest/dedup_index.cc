#include "ingest/dedup_index.h"

#include <utility>

namespace loom::ingest {

namespace {

constexpr size_t kShards = 64;
constexpr int64_t kPending = -1;  // Entry::pos while being appended

// 32 bytes, aligned: one cache line holds two entries and none straddles two lines.
struct alignas(32) Entry {
  uint64_t h1 = 0;  // 0: empty slot
  uint64_t h2 = 0;
  int64_t arrival = 0;
  // kPending, or the stored position: (offset + 1) << 13 | partition (partitions are < 4097;
  // an offset past 2^50 is kept as unknown, -1).
  int64_t pos = kPending;

  bool pending() const { return pos == kPending; }
  int32_t partition() const { return static_cast<int32_t>(pos & 0x1FFF); }
  int64_t offset() const { return (pos >> 13) - 1; }
  static int64_t Pos(int32_t partition, int64_t offset) {
    if (offset < 0 || offset >= (int64_t{1} << 50)) offset = -1;
    return ((offset + 1) << 13) | (partition & 0x1FFF);
  }
};
static_assert(sizeof(Entry) == 32);

// Open addressing with linear probing and backward-shift deletion.
class Table {
 public:
  size_t size() const { return size_; }
  void Clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
  }
  // Sized for n entries without growing (used at rotation: a generation holds about as many
  // entries as the one before, and growing by doubling costs a rehash and fresh pages each time).
  void Reserve(size_t n) {
    size_t want = 64;
    while (n * 10 > want * 7) want *= 2;
    if (want > slots_.size() && size_ == 0) slots_.assign(want, Entry{});
  }
  void Prefetch(uint64_t h1) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h1 & (slots_.size() - 1)]);
  }
  Entry* Find(uint64_t h1, uint64_t h2) {
    if (slots_.empty()) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = h1 & mask;; i = (i + 1) & mask) {
      Entry& e = slots_[i];
      if (e.h1 == 0) return nullptr;
      if (e.h1 == h1 && e.h2 == h2) return &e;
    }
  }
  Entry* Insert(const Entry& in) {
    if ((size_ + 1) * 10 > slots_.size() * 7) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = in.h1 & mask;; i = (i + 1) & mask) {
      Entry& e = slots_[i];
      if (e.h1 == 0) {
        e = in;
        ++size_;
        return &e;
      }
      if (e.h1 == in.h1 && e.h2 == in.h2) {
        e = in;
        return &e;
      }
    }
  }
  void Erase(Entry* e) {
    size_t mask = slots_.size() - 1;
    size_t i = static_cast<size_t>(e - slots_.data());
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (slots_[j].h1 == 0) break;
      size_t home = slots_[j].h1 & mask;
      // Move j back to i when its home is not cyclically within (i, j].
      bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Entry{};
    --size_;
  }
  template <typename F>
  void ForEach(F f) {
    for (Entry& e : slots_)
      if (e.h1 != 0) f(e);
  }

 private:
  void Grow() {
    std::vector<Entry> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Entry{});
    size_ = 0;
    for (const Entry& e : old)
      if (e.h1 != 0) Insert(e);
  }
  std::vector<Entry> slots_;
  size_t size_ = 0;
};

}  // namespace

struct DedupIndex::Shard {
  std::mutex mu;
  std::condition_variable cv;
  Table cur;   // guarded by mu
  Table prev;  // guarded by mu
  int64_t cur_start = INT64_MIN;
  uint64_t early = 0;

  // Drops the previous generation when the current one is a whole window old (every entry of
  // the previous one is then outside the window), or early when over the entry budget. Pending
  // entries are carried over so their waiters are answered.
  void Rotate(int64_t now, int64_t window, size_t max_entries) {
    if (cur_start == INT64_MIN) cur_start = now;
    bool by_age = now - cur_start >= window;
    bool by_size = cur.size() + prev.size() >= max_entries;
    if (!by_age && !by_size) return;
    if (by_size && !by_age) early += prev.size();
    Table carried;
    carried.Reserve(cur.size());
    prev.ForEach([&](Entry& e) {
      if (e.pending()) carried.Insert(e);
    });
    prev = std::move(cur);
    cur = std::move(carried);
    cur_start = now;
  }
  Entry* Find(uint64_t h1, uint64_t h2) {
    Entry* e = cur.Find(h1, h2);
    return e != nullptr ? e : prev.Find(h1, h2);
  }
  void Prefetch(uint64_t h1) const {
    cur.Prefetch(h1);
    prev.Prefetch(h1);
  }
  // TryClaim's work under mu.
  Claim ClaimLocked(uint64_t h1, uint64_t h2, int64_t now, int64_t window, int32_t* partition,
                    int64_t* offset) {
    Entry* e = Find(h1, h2);
    if (e != nullptr) {
      if (e->pending()) return Claim::kPending;
      if (e->arrival >= now - window) {
        *partition = e->partition();
        *offset = e->offset();
        return Claim::kDuplicate;
      }
    }
    cur.Insert(Entry{h1, h2, now, kPending});
    return Claim::kNew;
  }
  // Complete's work under mu.
  void CompleteLocked(uint64_t h1, uint64_t h2, int32_t partition, int64_t offset) {
    Entry* e = Find(h1, h2);
    if (e == nullptr) {
      cur.Insert(Entry{h1, h2, cur_start, Entry::Pos(partition, offset)});
    } else {
      e->pos = Entry::Pos(partition, offset);
    }
  }
};

DedupIndex::DedupIndex(int64_t window_micros, size_t max_entries)
    : window_(window_micros),
      max_per_shard_(std::max<size_t>(64, max_entries / kShards)),
      shards_(new Shard[kShards]) {}

DedupIndex::~DedupIndex() = default;

static size_t ShardOf(const DedupKey& key) { return (key.h2 >> 58) & (kShards - 1); }

DedupIndex::Shard& DedupIndex::ShardFor(const DedupKey& key) { return shards_[ShardOf(key)]; }

template <typename KeyOf>
void DedupIndex::GroupByShard(size_t n, KeyOf key_of, std::vector<uint32_t>* order,
                              std::vector<uint32_t>* begin) {
  begin->assign(kShards + 1, 0);
  for (size_t i = 0; i < n; ++i) ++(*begin)[ShardOf(key_of(i)) + 1];
  for (size_t s = 0; s < kShards; ++s) (*begin)[s + 1] += (*begin)[s];
  order->resize(n);
  uint32_t fill[kShards];
  for (size_t s = 0; s < kShards; ++s) fill[s] = (*begin)[s];
  for (size_t i = 0; i < n; ++i) (*order)[fill[ShardOf(key_of(i))]++] = static_cast<uint32_t>(i);
}

static uint64_t NonZero(uint64_t h) { return h == 0 ? 1 : h; }

DedupIndex::Claim DedupIndex::TryClaim(const DedupKey& key, int64_t now, int32_t* partition,
                                       int64_t* offset) {
  uint64_t h1 = NonZero(key.h1);
  Shard& s = ShardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  s.Rotate(now, window_, max_per_shard_);
  return s.ClaimLocked(h1, key.h2, now, window_, partition, offset);
}

void DedupIndex::Complete(const DedupKey& key, int32_t partition, int64_t offset) {
  uint64_t h1 = NonZero(key.h1);
  Shard& s = ShardFor(key);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.CompleteLocked(h1, key.h2, partition, offset);
  }
  s.cv.notify_all();
}

namespace {
// Per-thread index arrays of the batch calls.
struct BatchScratch {
  std::vector<uint32_t> order;
  std::vector<uint32_t> begin;
};
BatchScratch& ThreadBatchScratch() {
  thread_local BatchScratch scratch;
  return scratch;
}
constexpr size_t kPrefetchAhead = 12;  // lookups in flight: each is about one cache miss
}  // namespace

void DedupIndex::TryClaimBatch(std::span<const DedupKey> keys, int64_t now,
                               std::vector<ClaimResult>* out) {
  out->assign(keys.size(), ClaimResult{});
  BatchScratch& b = ThreadBatchScratch();
  GroupByShard(
      keys.size(), [&](size_t i) -> const DedupKey& { return keys[i]; }, &b.order, &b.begin);
  for (size_t sh = 0; sh < kShards; ++sh) {
    uint32_t lo = b.begin[sh], hi = b.begin[sh + 1];
    if (lo == hi) continue;
    Shard& s = shards_[sh];
    std::lock_guard<std::mutex> lock(s.mu);
    s.Rotate(now, window_, max_per_shard_);
    for (uint32_t k = lo; k < hi && k < lo + kPrefetchAhead; ++k)
      s.Prefetch(NonZero(keys[b.order[k]].h1));
    for (uint32_t k = lo; k < hi; ++k) {
      if (k + kPrefetchAhead < hi) s.Prefetch(NonZero(keys[b.order[k + kPrefetchAhead]].h1));
      uint32_t i = b.order[k];
      ClaimResult& r = (*out)[i];
      r.claim =
          s.ClaimLocked(NonZero(keys[i].h1), keys[i].h2, now, window_, &r.partition, &r.offset);
    }
  }
}

void DedupIndex::CompleteBatch(std::span<const Stored> stored) {
  BatchScratch& b = ThreadBatchScratch();
  GroupByShard(
      stored.size(), [&](size_t i) -> const DedupKey& { return stored[i].key; }, &b.order,
      &b.begin);
  for (size_t sh = 0; sh < kShards; ++sh) {
    uint32_t lo = b.begin[sh], hi = b.begin[sh + 1];
    if (lo == hi) continue;
    Shard& s = shards_[sh];
    {
      std::lock_guard<std::mutex> lock(s.mu);
      for (uint32_t k = lo; k < hi && k < lo + kPrefetchAhead; ++k)
        s.Prefetch(NonZero(stored[b.order[k]].key.h1));
      for (uint32_t k = lo; k < hi; ++k) {
        if (k + kPrefetchAhead < hi)
          s.Prefetch(NonZero(stored[b.order[k + kPrefetchAhead]].key.h1));
        const Stored& st = stored[b.order[k]];
        s.CompleteLocked(NonZero(st.key.h1), st.key.h2, st.partition, st.offset);
      }
    }
    s.cv.notify_all();
  }
}

void DedupIndex::Abandon(const DedupKey& key) {
  uint64_t h1 = NonZero(key.h1);
  Shard& s = ShardFor(key);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (Entry* e = s.cur.Find(h1, key.h2); e != nullptr && e->pending()) s.cur.Erase(e);
    if (Entry* e = s.prev.Find(h1, key.h2); e != nullptr && e->pending()) s.prev.Erase(e);
  }
  s.cv.notify_all();
}

bool DedupIndex::WaitStored(const DedupKey& key, int32_t* partition, int64_t* offset) {
  uint64_t h1 = NonZero(key.h1);
  Shard& s = ShardFor(key);
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    Entry* e = s.Find(h1, key.h2);
    if (e == nullptr) return false;
    if (!e->pending()) {
      *partition = e->partition();
      *offset = e->offset();
      return true;
    }
    s.cv.wait(lock);
  }
}

void DedupIndex::Restore(const DedupKey& key, int64_t arrival, int64_t now, int32_t partition,
                         int64_t offset) {
  if (arrival < now - window_) return;
  uint64_t h1 = NonZero(key.h1);
  Shard& s = ShardFor(key);
  std::lock_guard<std::mutex> lock(s.mu);
  // Every restored entry arrived after now - window, so the generation may start there.
  if (s.cur_start == INT64_MIN) s.cur_start = now - window_;
  s.cur.Insert(Entry{h1, key.h2, arrival, Entry::Pos(partition, offset)});
}

uint64_t DedupIndex::entries() const {
  uint64_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].cur.size() + shards_[i].prev.size();
  }
  return n;
}

uint64_t DedupIndex::early_evictions() const {
  uint64_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].early;
  }
  return n;
}

}  // namespace loom::ingest
