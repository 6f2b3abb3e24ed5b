package main

import "testing"

// Each closed-loop measurement goes first in one round, and follows each
// other measurement in exactly one round.
func TestBalancedOrderIsALatinSquare(t *testing.T) {
	t.Parallel()
	n := len(balancedOrder)
	first := map[int]int{}
	after := map[[2]int]int{}
	for _, row := range balancedOrder {
		if len(row) != n {
			t.Fatalf("row %v: want %d measurements", row, n)
		}
		seen := map[int]bool{}
		for i, m := range row {
			if seen[m] || m < 0 || m >= n {
				t.Fatalf("row %v: %d repeated or out of range", row, m)
			}
			seen[m] = true
			if i > 0 {
				after[[2]int{row[i-1], m}]++
			}
		}
		first[row[0]]++
	}
	for m := range n {
		if first[m] != 1 {
			t.Errorf("measurement %d goes first %d times, want once", m, first[m])
		}
		for o := range n {
			if o != m && after[[2]int{o, m}] != 1 {
				t.Errorf("measurement %d follows %d %d times, want once", m, o, after[[2]int{o, m}])
			}
		}
	}
}

// The median of the rounds' shares, with their range.
func TestShares(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in          []float64
		lo, mid, hi float64
	}{
		{[]float64{30, 10, 20}, 10, 20, 30},
		{[]float64{40, 10, 30, 20}, 10, 25, 40},
		{nil, 0, 0, 0},
	} {
		lo, mid, hi := closedMeasure{share: c.in}.shares()
		if lo != c.lo || mid != c.mid || hi != c.hi {
			t.Errorf("shares(%v) = %v, %v, %v; want %v, %v, %v", c.in, lo, mid, hi, c.lo, c.mid, c.hi)
		}
	}
}
