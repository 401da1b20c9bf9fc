"""Records: the physician's data, photos, departments, rosters, the public register, imports."""
