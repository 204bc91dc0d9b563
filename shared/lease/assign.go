package lease

import (
	"cmp"
	"hash/fnv"
	"slices"
)

// assign returns, for every shard, the member that should hold it. members are the live members,
// sorted and distinct; holders[s] is the live member holding shard s now, or "" when none does.
// Every replica computes it from what it reads in Redis, so replicas agree on owners without
// talking to each other.
//
// It is rendezvous hashing with two changes. Plain rendezvous hashing spreads 128 shards like a
// binomial draw (two members split them 64±6, three 43±5), so loads are capped: each member may
// hold ⌊shards/n⌋ shards, and the ones holding most right now may hold one more, as many of them
// as there are shards left over. And members keep what they already hold, up to their cap (the
// shards they score highest), so a member leaving moves only its own shards, a member joining
// takes shards only for itself, and a settled assignment is a fixed point: nothing flaps. The
// rest go, shard by shard, to the highest-scoring member with room.
func assign(shards int, members []string, holders []string) []string {
	out := make([]string, shards)
	n := len(members)
	if n == 0 {
		return out
	}
	index := make(map[string]int, n)
	hashes := make([]uint64, n)
	for i, m := range members {
		index[m] = i
		hashes[i] = memberHash(m)
	}
	held := make([][]int, n)
	for s, h := range holders {
		if i, ok := index[h]; ok && s < shards {
			held[i] = append(held[i], s)
		}
	}

	byLoad := make([]int, n)
	for i := range byLoad {
		byLoad[i] = i
	}
	// Stable on the sorted names, so ties break the same way on every replica.
	slices.SortStableFunc(byLoad, func(a, b int) int { return cmp.Compare(len(held[b]), len(held[a])) })
	caps := make([]int, n)
	for rank, i := range byLoad {
		caps[i] = shards / n
		if rank < shards%n {
			caps[i]++
		}
	}

	load := make([]int, n)
	for i, mine := range held {
		if len(mine) > caps[i] {
			slices.SortFunc(mine, func(a, b int) int {
				return cmp.Or(cmp.Compare(weight(hashes[i], b), weight(hashes[i], a)), cmp.Compare(a, b))
			})
			mine = mine[:caps[i]]
		}
		for _, s := range mine {
			out[s] = members[i]
		}
		load[i] = len(mine)
	}
	// The caps add up to shards, so while a shard is left some member has room.
	for s := range out {
		if out[s] != "" {
			continue
		}
		best, bestWeight := -1, uint64(0)
		for i, h := range hashes {
			if load[i] < caps[i] {
				if w := weight(h, s); best < 0 || w > bestWeight {
					best, bestWeight = i, w
				}
			}
		}
		out[s] = members[best]
		load[best]++
	}
	return out
}

// weight is member's rendezvous score for shard; member is memberHash of its name.
func weight(member uint64, shard int) uint64 {
	return mix(member ^ mix(uint64(shard)+0x9e3779b97f4a7c15))
}

func memberHash(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return mix(h.Sum64())
}

// mix is the SplitMix64 finaliser. FNV alone differs little between names like tick-1 and tick-2,
// and rendezvous hashing needs each member's scores to look independent of the others'.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
