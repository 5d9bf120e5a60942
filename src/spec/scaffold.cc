// ScaffoldDataProduct: the commented starting point `loom init DOMAIN/PRODUCT` writes.

#include "spec/spec.h"

namespace loom::spec {
namespace {

// "play-events" -> "Play events"
std::string Title(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = ' ';
  }
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

}  // namespace

std::string ScaffoldDataProduct(std::string_view domain, std::string_view product) {
  const std::string d(domain), p(product);
  return R"(# A Loom data product descriptor. Reference of every key: docs/descriptors.md
# Validate and publish it with `loom apply <this file>`.
apiVersion: loom/v1            # the descriptor format version; always loom/v1
kind: DataProduct              # Domain | DataProduct | Policy
metadata:
  domain: )" +
         d + R"(         # the owning domain (must exist: kind Domain)
  name: )" +
         p + R"(           # the product's name, unique in its domain: [a-z0-9-]
  version: 0.1.0               # semantic version; raise MAJOR for breaking schema changes
  title: )" +
         Title(p) + R"(
  description: What one record of this product means, and when it is produced.
  owner: group:)" +
         d + R"(-team    # who answers for it: user:NAME, group:NAME or service:NAME
  tags: [events]               # free words that help people find it
spec:
  classification: internal     # public | internal | confidential | restricted
  alignment: source            # source (business facts) | consumer (shaped for a use) | shared
  schema:
    fields:                    # each: name, type, and optionally required, primaryKey, pii,
                               # mask, globalType, description, constraints
      - name: event_id
        type: uuid             # string int32 int64 double decimal(p,s) bool date timestamp
                               # uuid list<T> struct
        primaryKey: true       # primary keys are required and identify a record
        description: Unique id of the event, used to drop duplicates.
      - name: occurred_at
        type: timestamp
        required: true
        description: When the event happened.
      - name: user_id
        type: string
        required: true
        pii: true              # personal data: masked for readers without `unmask`
        mask: hash             # redact | hash | tokenize | truncate | null
        description: The user the event is about.
      - name: action
        type: string
        constraints: {enum: [created, updated, deleted]}
        description: What happened.
      - name: amount
        type: decimal(18,2)
        constraints: {min: 0}
  outputPorts:                 # how the product is served; at least one
    - name: events
      kind: stream             # stream (append-only event log) | table (versioned snapshots)
      description: Every event, in the order it was received.
      stream:
        partitions: 1          # parallelism; events with one partition key stay in order
        partitionKey: [user_id]
        eventTime: occurred_at # the timestamp field windows and freshness use
        fsync: always          # always (durable before ack) | interval | never
        retention: forever     # or {time: 30d, bytes: 10GiB}
        onInvalid: reject      # reject | quarantine (keep invalid events for the owners)
  slos:                        # promises the platform measures
    - {kind: freshness, port: events, threshold: 1h, objective: 0.99}
  quality:                     # expectations checked on every new batch or version
    - {name: ids-present, kind: not_null, fields: [event_id], severity: block}
  access:                      # who may read; everyone else is denied
    - {principal: group:)" +
         d + R"(-team, permissions: [read, write, unmask]}
)";
}

}  // namespace loom::spec
