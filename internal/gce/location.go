package gce

import "fmt"

// Location says where a resource lives: in a zone, in a region, or, when
// both are empty, globally. Zonal and regional groups, and global and
// regional templates, share their methods through it.
type Location struct {
	Zone   string
	Region string
}

// Zone is the location of a zonal resource.
func Zone(name string) Location { return Location{Zone: name} }

// Region is the location of a regional resource.
func Region(name string) Location { return Location{Region: name} }

// Global is the location of a global resource.
var Global = Location{}

// String gives the location as it appears in a resource's path.
func (l Location) String() string {
	switch {
	case l.Zone != "":
		return "zones/" + l.Zone
	case l.Region != "":
		return "regions/" + l.Region
	default:
		return "global"
	}
}

func (l Location) check() error {
	if l.Zone != "" && l.Region != "" {
		return fmt.Errorf("location has both zone %q and region %q",
			l.Zone, l.Region)
	}
	return nil
}

// zonalOrRegional refuses the global location where only a zone or a
// region makes sense.
func (l Location) zonalOrRegional() error {
	if err := l.check(); err != nil {
		return err
	}
	if l.Zone == "" && l.Region == "" {
		return fmt.Errorf("location needs a zone or a region")
	}
	return nil
}

// globalOrRegional refuses a zone where only a region or the global scope
// makes sense.
func (l Location) globalOrRegional() error {
	if err := l.check(); err != nil {
		return err
	}
	if l.Zone != "" {
		return fmt.Errorf("location %s: want a region or global", l)
	}
	return nil
}
