
¥


service.name

frontend„

lib1·
	