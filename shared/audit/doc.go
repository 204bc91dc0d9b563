// Package audit seals the audit log into a hash chain keyed with HMAC-SHA256, so that tampering
// by someone who can write the table but does not hold the key shows when the log is verified.
//
// The threat is a database superuser (or anyone with write access to the audit table, a restored
// backup included) who wants to change history: edit a row, remove one, slip in a forged one, or
// drop the latest rows. Each row carries a MAC over all of its fields, its sequence number and
// the MAC of the row before it; the MAC is computed with a key that lives in vecron's
// configuration and never in the database. Verifying the rows in sequence order then detects:
//
//   - a row altered: any field, the sequence number and the key id included;
//   - a row removed, at the start or in the middle: the sequence jumps;
//   - a row forged or inserted: without the key its MAC cannot be right;
//   - rows re-chained by SQL: after removing a row, an attacker can renumber the rows that follow
//     and point each one at its new predecessor, but cannot recompute their MACs;
//   - rows sealed by a key id the verifier does not hold, reported as such.
//
// Why HMAC and not a plain hash: anyone can recompute a SHA-256 chain, so an attacker who edits a
// row would simply recompute every hash after it and the chain would verify again. The MAC needs
// the key, which the attacker does not have.
//
// What the chain alone cannot detect: rows removed from the end. A shorter chain is still a valid
// chain. Against that, keep an Anchor — the sequence number and MAC of the latest row, written
// as "vecron-audit:<seq>:<mac>" — somewhere the database superuser cannot write (a ticket, a
// write-once bucket, the auditor's own records), and pass it to the verifier: a log that ends
// before the anchor, or whose row at the anchor's seq has another MAC (the table was restored
// from an old backup and written to since), does not verify. Rows appended after the last anchor
// and then removed go unnoticed until the next anchor is taken.
//
// Nor does the chain protect against someone who holds the key: the key is what the log's
// integrity rests on, so it belongs in configuration with the other secrets, readable only by
// the process that writes the log and by the auditor. Events the application never recorded
// are out of its reach as well.
//
// Old rows may be removed by a retention policy: verification then starts from a trusted
// checkpoint (the anchor of the last removed row, kept when they were removed) with
// Keys.VerifierFrom. Keys rotate: the first key configured seals new rows, and every key still
// listed verifies the rows it sealed; a key may be dropped once every row it sealed is older
// than the checkpoint.
package audit
