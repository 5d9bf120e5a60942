#include "catalog/snippet.h"

#include <algorithm>
#include <cstdint>

namespace loom::catalog {
namespace {

constexpr int kWindowTokens = 16;
constexpr std::string_view kOpen = "[";
constexpr std::string_view kClose = "]";
constexpr std::string_view kEllipsis = "...";

using Tokens = std::vector<FtsQueryBuilder::DocumentToken>;

struct Instance {
  int phrase = 0;
  int column = 0;
  int position = 0;
  int size = 0;  // tokens in the phrase
};

bool PhraseAt(const Tokens& tokens, size_t at, const SnippetPhrase& phrase) {
  if (at + phrase.tokens.size() > tokens.size()) return false;
  for (size_t t = 0; t < phrase.tokens.size(); ++t) {
    const std::string& want = phrase.tokens[t];
    const std::string& have = tokens[at + t].term;
    if (phrase.prefix && t + 1 == phrase.tokens.size()) {
      if (have.size() < want.size() || have.compare(0, want.size(), want) != 0) return false;
    } else if (have != want) {
      return false;
    }
  }
  return true;
}

// Whether `text` may hold an instance of a phrase, without tokenizing it: false only when the
// text is ASCII and holds no phrase's first token as a substring, case folded. For ASCII text the
// tokenizer's terms are its runs of letters and digits, lower-cased, so a term equal to (or, for
// a prefix phrase, starting with) the first token implies that substring.
bool MayHoldAPhrase(const std::string& text, const std::vector<SnippetPhrase>& phrases) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  auto same = [](char have, char want) {
    return (have >= 'A' && have <= 'Z' ? static_cast<char>(have - 'A' + 'a') : have) == want;
  };
  for (const SnippetPhrase& phrase : phrases) {
    const std::string& first = phrase.tokens.front();
    if (std::search(text.begin(), text.end(), first.begin(), first.end(), same) != text.end()) {
      return true;
    }
  }
  return false;
}

// The positions that start a sentence: the first token, and each token whose text is preceded by
// white space that follows a '.' or ':'.
std::vector<int> SentenceStarts(const std::string& text, const Tokens& tokens) {
  std::vector<int> starts;
  for (size_t p = 0; p < tokens.size(); ++p) {
    if (p == 0) {
      starts.push_back(0);
      continue;
    }
    size_t i = tokens[p].start;
    bool space = false;
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' ||
                     text[i - 1] == '\r')) {
      --i;
      space = true;
    }
    if (space && i > 0 && (text[i - 1] == '.' || text[i - 1] == ':')) {
      starts.push_back(static_cast<int>(p));
    }
  }
  return starts;
}

// The score of the window of kWindowTokens tokens from `start` in `column`, and where a window
// centred on the instances it holds starts (kept inside the column's `size` tokens).
struct Window {
  int score = 0;
  int centred = 0;
};

Window Score(const std::vector<Instance>& instances, size_t phrases, int column, int start,
             int size) {
  std::vector<bool> seen(phrases, false);
  Window w;
  int first = -1;
  int last = 0;
  const int64_t end = int64_t{start} + kWindowTokens;
  for (const Instance& in : instances) {
    if (in.column != column || in.position < start || in.position >= end) continue;
    w.score += seen[static_cast<size_t>(in.phrase)] ? 1 : 1000;
    seen[static_cast<size_t>(in.phrase)] = true;
    if (first < 0) first = in.position;
    last = in.position + in.size;
  }
  int64_t adjusted = first - (kWindowTokens - (last - first)) / 2;
  if (adjusted + kWindowTokens > size) adjusted = size - kWindowTokens;
  if (adjusted < 0) adjusted = 0;
  w.centred = static_cast<int>(adjusted);
  return w;
}

// Iterates the instances of one column, overlapping ones merged: [start, end] in tokens.
class Coalesced {
 public:
  Coalesced(const std::vector<Instance>& instances, int column)
      : instances_(instances), column_(column) {
    Next();
  }
  void Next() {
    start_ = end_ = -1;
    for (; next_ < instances_.size(); ++next_) {
      const Instance& in = instances_[next_];
      if (in.column != column_) continue;
      const int end = in.position + in.size - 1;
      if (start_ < 0) {
        start_ = in.position;
        end_ = end;
      } else if (in.position <= end_) {
        end_ = std::max(end_, end);
      } else {
        break;
      }
    }
  }
  int start() const { return start_; }
  int end() const { return end_; }

 private:
  const std::vector<Instance>& instances_;
  int column_;
  size_t next_ = 0;
  int start_ = -1;
  int end_ = -1;
};

// The text of `tokens`' window [first, first + kWindowTokens) of `text`, instances bracketed.
std::string Highlight(const std::string& text, const Tokens& tokens,
                      const std::vector<Instance>& instances, int column, int first) {
  const int last = first + kWindowTokens - 1;
  std::string out;
  if (first > 0) out += kEllipsis;
  // Instances that start before the window are not highlighted, even where they reach into it.
  Coalesced it(instances, column);
  while (it.start() >= 0 && it.start() < first) it.Next();
  size_t copied = 0;
  for (int pos = first; pos <= last && pos < static_cast<int>(tokens.size()); ++pos) {
    const size_t start = tokens[static_cast<size_t>(pos)].start;
    const size_t end = tokens[static_cast<size_t>(pos)].end;
    if (first > 0 && pos == first) copied = start;
    if (pos == it.start()) {
      out.append(text, copied, start - copied);
      out += kOpen;
      copied = start;
    }
    if (pos == it.end()) {
      out.append(text, copied, end - copied);
      out += kClose;
      copied = end;
      it.Next();
    }
    if (pos == last) {
      out.append(text, copied, end - copied);
      copied = end;
      if (pos >= it.start() && pos < it.end()) out += kClose;
    }
  }
  if (last >= static_cast<int>(tokens.size()) - 1) {
    out.append(text, copied);
  } else {
    out += kEllipsis;
  }
  return out;
}

}  // namespace

Result<std::string> Snippet(FtsQueryBuilder& fts, const std::vector<std::string>& columns,
                            const std::vector<SnippetPhrase>& phrases) {
  std::vector<Tokens> tokens;
  std::vector<Instance> instances;  // by column, position, phrase
  for (size_t c = 0; c < columns.size(); ++c) {
    // A column without instances is never the snippet's, except the first when no column has
    // one: the others need no tokens.
    if (c > 0 && !MayHoldAPhrase(columns[c], phrases)) {
      tokens.emplace_back();
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(Tokens t, fts.TokenizeDocument(columns[c]));
    for (size_t at = 0; at < t.size(); ++at) {
      for (size_t p = 0; p < phrases.size(); ++p) {
        if (PhraseAt(t, at, phrases[p])) {
          instances.push_back({static_cast<int>(p), static_cast<int>(c), static_cast<int>(at),
                               static_cast<int>(phrases[p].tokens.size())});
        }
      }
    }
    tokens.push_back(std::move(t));
  }

  int best_score = 0;
  int best_column = 0;
  int best_start = 0;
  for (size_t c = 0; c < columns.size(); ++c) {
    const int column = static_cast<int>(c);
    const int size = static_cast<int>(tokens[c].size());
    std::vector<int> sentences;
    bool sentences_found = false;
    for (const Instance& in : instances) {
      if (in.column != column) continue;
      const Window w = Score(instances, phrases.size(), column, in.position, size);
      if (w.score > best_score) {
        best_score = w.score;
        best_column = column;
        best_start = w.centred;
      }
      if (size <= kWindowTokens) continue;
      if (!sentences_found) {
        sentences = SentenceStarts(columns[c], tokens[c]);
        sentences_found = true;
      }
      // The last sentence that starts at or before the instance.
      size_t s = 0;
      while (s + 1 < sentences.size() && sentences[s + 1] <= in.position) ++s;
      if (sentences.empty() || sentences[s] >= in.position) continue;
      Window from = Score(instances, phrases.size(), column, sentences[s], size);
      from.score += sentences[s] == 0 ? 120 : 100;
      if (from.score > best_score) {
        best_score = from.score;
        best_column = column;
        best_start = sentences[s];
      }
    }
  }
  return Highlight(columns[static_cast<size_t>(best_column)],
                   tokens[static_cast<size_t>(best_column)], instances, best_column, best_start);
}

}  // namespace loom::catalog
