package gcetest

import "strings"

// routes lists exactly the API methods that the emulator answers.
var routes = []route{
	get("global/images", "images.list", (*Emulator).listImages),
	mut("POST", "global/images", "images.insert", "insert",
		(*Emulator).insertImage),
	get("global/images/family/*", "images.getFromFamily",
		(*Emulator).getImageFromFamily),
	get("global/images/*", "images.get", (*Emulator).getImage),
	mut("DELETE", "global/images/*", "images.delete", "delete",
		(*Emulator).deleteImage),
	mut("POST", "global/images/*/deprecate", "images.deprecate", "deprecate",
		(*Emulator).deprecateImage),
	mut("POST", "global/images/*/setLabels", "images.setLabels", "setLabels",
		(*Emulator).setImageLabels),

	get("global/instanceTemplates", "instanceTemplates.list",
		(*Emulator).listTemplates),
	mut("POST", "global/instanceTemplates", "instanceTemplates.insert",
		"insert", (*Emulator).insertTemplate),
	get("global/instanceTemplates/*", "instanceTemplates.get",
		(*Emulator).getTemplate),
	mut("DELETE", "global/instanceTemplates/*", "instanceTemplates.delete",
		"delete", (*Emulator).deleteTemplate),
	get("regions/*/instanceTemplates", "regionInstanceTemplates.list",
		(*Emulator).listTemplates),
	mut("POST", "regions/*/instanceTemplates",
		"regionInstanceTemplates.insert", "insert", (*Emulator).insertTemplate),
	get("regions/*/instanceTemplates/*", "regionInstanceTemplates.get",
		(*Emulator).getTemplate),
	mut("DELETE", "regions/*/instanceTemplates/*",
		"regionInstanceTemplates.delete", "delete", (*Emulator).deleteTemplate),

	get("zones/*/instanceGroupManagers/*", "instanceGroupManagers.get",
		(*Emulator).getMIG),
	mut("PATCH", "zones/*/instanceGroupManagers/*",
		"instanceGroupManagers.patch", "patch", (*Emulator).patchMIG),
	post("zones/*/instanceGroupManagers/*/listManagedInstances",
		"instanceGroupManagers.listManagedInstances",
		(*Emulator).listManagedInstances),
	get("zones/*/instanceGroupManagers/*/listErrors",
		"instanceGroupManagers.listErrors", (*Emulator).listMIGErrors),
	get("regions/*/instanceGroupManagers/*", "regionInstanceGroupManagers.get",
		(*Emulator).getMIG),
	mut("PATCH", "regions/*/instanceGroupManagers/*",
		"regionInstanceGroupManagers.patch", "patch", (*Emulator).patchMIG),
	post("regions/*/instanceGroupManagers/*/listManagedInstances",
		"regionInstanceGroupManagers.listManagedInstances",
		(*Emulator).listManagedInstances),
	get("regions/*/instanceGroupManagers/*/listErrors",
		"regionInstanceGroupManagers.listErrors", (*Emulator).listMIGErrors),

	mut("POST", "zones/*/instances", "instances.insert", "insert",
		(*Emulator).insertInstance),
	get("zones/*/instances/*", "instances.get", (*Emulator).getInstance),
	mut("DELETE", "zones/*/instances/*", "instances.delete", "delete",
		(*Emulator).deleteInstance),
	mut("POST", "zones/*/instances/*/stop", "instances.stop", "stop",
		(*Emulator).stopInstance),
	get("zones/*/instances/*/serialPort", "instances.getSerialPortOutput",
		(*Emulator).serialPortOutput),

	post("regions/*/targetPools/*/getHealth", "targetPools.getHealth",
		(*Emulator).targetPoolHealth),
	post("global/backendServices/*/getHealth", "backendServices.getHealth",
		(*Emulator).backendServiceHealth),
	post("regions/*/backendServices/*/getHealth",
		"regionBackendServices.getHealth", (*Emulator).backendServiceHealth),

	get("global/operations/*", "globalOperations.get",
		(*Emulator).getOperation),
	get("regions/*/operations/*", "regionOperations.get",
		(*Emulator).getOperation),
	get("zones/*/operations/*", "zoneOperations.get",
		(*Emulator).getOperation),
}

func get(pattern, method string, g getter) route {
	return route{verb: "GET", pattern: strings.Split(pattern, "/"),
		method: method, get: g}
}

// post is a read that the API happens to take as a POST.
func post(pattern, method string, g getter) route {
	r := get(pattern, method, g)
	r.verb = "POST"
	return r
}

func mut(verb, pattern, method, kind string, m mutator) route {
	return route{verb: verb, pattern: strings.Split(pattern, "/"),
		method: method, mutate: m, kind: kind}
}
