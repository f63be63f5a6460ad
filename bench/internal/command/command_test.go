package command

import (
	"slices"
	"testing"
)

func TestSteps(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"10, 25,50", []int{10, 25, 50}, false},
		{"", nil, false},
		{"5,,7,", []int{5, 7}, false},
		{"10,5", nil, true},
		{"5,5", nil, true},
		{"0", nil, true},
		{"-3", nil, true},
		{"ten", nil, true},
	} {
		got, err := Steps(c.in)
		if (err != nil) != c.wantErr || !slices.Equal(got, c.want) {
			t.Errorf("Steps(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}
