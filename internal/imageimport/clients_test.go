package imageimport

import "testing"

func TestEndpointOptions(t *testing.T) {
	tests := []struct {
		endpoint string
		want     int // options: endpoint, then no authentication
	}{
		{"", 0},
		{"https://compute-kiln.p.googleapis.com", 1},
		{"http://127.0.0.1:8080", 2},
		{"http://[::1]:8080", 2},
		{"http://localhost:8080", 2},
	}
	for _, tt := range tests {
		if got := len(endpointOptions(tt.endpoint)); got != tt.want {
			t.Errorf("len(endpointOptions(%q)) = %d, want %d", tt.endpoint,
				got, tt.want)
		}
	}
}

func TestStorageEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"http://127.0.0.1:4443", "http://127.0.0.1:4443/storage/v1/"},
		{"https://storage-kiln.p.googleapis.com/",
			"https://storage-kiln.p.googleapis.com/storage/v1/"},
		{"https://gcs.example/custom/v1/", "https://gcs.example/custom/v1/"},
	}
	for _, tt := range tests {
		if got := storageEndpoint(tt.in); got != tt.want {
			t.Errorf("storageEndpoint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
