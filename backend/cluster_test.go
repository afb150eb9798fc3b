package backend

import "testing"

func TestPickReplicaByLoadPerWeight(t *testing.T) {
	c := NewCluster("main", "127.0.0.1:1", []string{"127.0.0.1:2", "127.0.0.1:3"}, []int{1, 3}, PoolConfig{}, 0)
	light, heavy := c.Replicas[0], c.Replicas[1]
	counts := map[*Backend]int{}
	for i := 0; i < 400; i++ {
		b := c.PickReplica()
		counts[b]++
		b.InFlight.Add(1) // requests pile up: load per weight decides
	}
	if counts[heavy] != 3*counts[light] {
		t.Errorf("weights 1:3 got %d:%d requests", counts[light], counts[heavy])
	}
	heavy.healthy.Store(false)
	for i := 0; i < 10; i++ {
		if c.PickReplica() != light {
			t.Fatal("an unhealthy replica was picked")
		}
	}
	light.healthy.Store(false)
	if c.PickReplica() != nil {
		t.Fatal("no healthy replica, yet one was picked")
	}
}
